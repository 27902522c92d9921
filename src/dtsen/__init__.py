"""dtsen: an open-source national social registry (Data Tunggal Sosial dan Ekonomi Nasional)."""

__version__ = "0.1.0"
