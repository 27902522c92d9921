"""Reading a survey table (CSV or Parquet) for fitting or evaluating a PMT, with its content hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dtsen.ranking.pmt.errors import SurveyUnreadable


@dataclass(frozen=True)
class Survey:
    """A survey table in memory, where it came from and the sha256 of the file's bytes."""

    frame: pd.DataFrame
    path: Path
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def survey_read(path: str | Path) -> Survey:
    """Read a CSV (or .parquet) survey; an absent, unreadable or empty file raises SurveyUnreadable."""
    source = Path(path)
    if not source.is_file():
        raise SurveyUnreadable(
            f"Berkas survei tidak ditemukan: {source}.", f"Survey file not found: {source}.", path=str(source)
        )
    try:
        if source.suffix.lower() == ".parquet":
            frame = pd.read_parquet(source)
        else:
            frame = pd.read_csv(source, low_memory=False)
        sha = file_sha256(source)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise SurveyUnreadable(
            f"Berkas survei tidak dapat dibaca: {source} ({type(exc).__name__}: {exc}).",
            f"Cannot read the survey file: {source} ({type(exc).__name__}: {exc}).",
            path=str(source),
        ) from exc
    if frame.empty:
        raise SurveyUnreadable(
            f"Berkas survei tidak berisi baris data: {source}.",
            f"The survey file has no data rows: {source}.",
        )
    return Survey(frame=frame, path=source, sha256=sha)
