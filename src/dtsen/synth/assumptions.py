"""Assumed, NOT fitted, parameters of the synthetic population.

The survey (Alatas et al. 2012) only gives the 45 PMT covariates, so everything finer is set here by hand from
published national figures or plain judgement, and documented in docs/synth.md ("What is not calibrated").
Fitted parameters live in `params/alatas_calibrated.json`.
"""

from __future__ import annotations

# --- Family size -------------------------------------------------------------------------------------------
# Target distribution of members per family: Susenas 2020 Kor, Jambi, weighted (reference-figures.md,
# "Scale facts"): mean 3.78. Sizes 1..7 and "8+"; 8+ is split like the survey's own tail (8: 127, 9: 66,
# 10: 25, 11: 5, 12: 7, 13: 3, 14: 3, 15: 1, 16: 1 households).
SIZE_TARGET: tuple[float, ...] = (0.051, 0.132, 0.245, 0.295, 0.173, 0.066, 0.024, 0.014)
SIZE_TAIL: dict[int, float] = {8: 127, 9: 66, 10: 25, 11: 5, 12: 7, 13: 3, 14: 3, 15: 1, 16: 1}

# --- Family composition ------------------------------------------------------------------------------------
HEAD_MIN_AGE = 17
HEAD_MAX_AGE = 95
SPOUSE_AGE_GAP_MEAN = 4.0  # husband older than wife, years
SPOUSE_AGE_GAP_SD = 4.0
MARRIED_FEMALE_HEAD_SPOUSE_ABSENT = 0.5  # married women heads: husband away (migrant work) half the time
PARENT_PRESENT = ((40, 0.10), (55, 0.07), (200, 0.02))  # (head age below, P(a parent of the head lives in))
SECOND_PARENT = 0.3
OTHER_RELATIVE = 0.05
EXTENDED_WITH_GRANDCHILDREN = ((45, 0.0), (55, 0.25), (65, 0.5), (200, 0.65))  # married child + in-law + cucu
SKIPPED_GENERATION = 0.2  # heads 50+: grandchildren living with grandparents, parents away
MOTHER_AGE_AT_LAST_BIRTH = (
    29.0,
    2.5,
    5.5,
)  # mean for an only child, + per further child, sd (clipped 17..44)
BIRTH_SPACING = (1.5, 2.0, 1.2)  # years: offset + Gamma(shape, scale)
MIN_PARENT_AGE_AT_BIRTH = 16.0
MALE_BIRTH_SHARE = 0.515

# Marital status of heads who are not married (the survey only says married / not married).
UNMARRIED_HEAD_YOUNG = 30  # below: mostly never married
UNMARRIED_HEAD_STATUS = {
    # (sex, young) -> probabilities of (belum_kawin, cerai_hidup, cerai_mati)
    ("L", True): (0.90, 0.08, 0.02),
    ("P", True): (0.60, 0.30, 0.10),
    ("L", False): (0.20, 0.30, 0.50),
    ("P", False): (0.05, 0.20, 0.75),
}

# --- School enrolment by age (SchoolLevel) -----------------------------------------------------------------
# Grade = age - 6 - delay; delay 0/1/2 years with these probabilities. Bands: grade <= 0 PAUD (age 3+),
# 1-6 SD, 7-9 SMP, 10-12 SMA, 13-16 higher education. P(enrolled) = logistic(base + slope * welfare z).
SCHOOL_DELAY = (0.5, 0.4, 0.1)
SCHOOL_BANDS = {
    # band: (base logit, welfare slope)   BPS APS 2008-2010 roughly: 7-12 98%, 13-15 85%, 16-18 55%, 19-24 13%
    "paud": (-0.4, 0.4),
    "sd": (3.9, 0.3),
    "smp": (1.9, 0.6),
    "sma": (0.3, 0.8),
    "pt": (-1.9, 1.0),
}
# Completed level of a child or young adult (7-18) who left school, by the band they would now be in.
DROPOUT_COMPLETED = {
    # band: probabilities of completed (tidak_sekolah, sd, smp, sma)
    "sd": (1.0, 0.0, 0.0, 0.0),
    "smp": (0.2, 0.8, 0.0, 0.0),
    "sma": (0.05, 0.3, 0.65, 0.0),
    "pt": (0.03, 0.17, 0.2, 0.6),
}
# "Senior high or higher" split into sma / diploma / s1_plus: P(s1_plus) = logistic(a + b z), diploma fixed.
TERTIARY_S1 = (-1.8, 0.9)
TERTIARY_DIPLOMA = 0.08

# --- Work of members other than the head -------------------------------------------------------------------
WORK_RATE = {  # (sex, age band) -> P(working) for members not in school
    ("L", "15-17"): 0.15,
    ("P", "15-17"): 0.10,
    ("L", "18-64"): 0.85,
    ("P", "18-64"): 0.50,
    ("L", "65+"): 0.40,
    ("P", "65+"): 0.20,
}
SAME_SECTOR_AS_HEAD = 0.6
SECTOR_SHARES = (0.35, 0.20, 0.45)  # pertanian, industri, jasa
FORMAL_RATE = (0.12, 0.35)  # P(formal) for working members below SMA / SMA or higher

# Occupation label (free text on the KTP/KK) by (sector, employment type); a person's job title.
OCCUPATIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "pertanian/formal": (("Buruh Tani/Perkebunan", 0.6), ("Karyawan Swasta", 0.4)),
    "pertanian/informal": (
        ("Petani/Pekebun", 0.7),
        ("Buruh Tani/Perkebunan", 0.2),
        ("Nelayan/Perikanan", 0.1),
    ),
    "industri/formal": (("Karyawan Swasta", 0.85), ("Buruh Harian Lepas", 0.15)),
    "industri/informal": (
        ("Buruh Harian Lepas", 0.4),
        ("Tukang Batu", 0.3),
        ("Wiraswasta", 0.2),
        ("Tukang Jahit", 0.1),
    ),
    "jasa/formal": (("Karyawan Swasta", 0.8), ("Sopir", 0.2)),
    "jasa/informal": (("Pedagang", 0.4), ("Wiraswasta", 0.35), ("Sopir", 0.1), ("Buruh Harian Lepas", 0.15)),
}
OCCUPATION_STUDENT = "Pelajar/Mahasiswa"
OCCUPATION_HOUSEWORK = "Mengurus Rumah Tangga"
OCCUPATION_NONE = "Belum/Tidak Bekerja"
HOUSEWORK_SHARE = 0.8  # adult women not working nor studying

# --- Disability and pregnancy ------------------------------------------------------------------------------
DISABILITY_BY_AGE = ((15, 0.012), (45, 0.02), (60, 0.04), (75, 0.09), (200, 0.2))  # (age below, P)
DISABILITY_TYPES = (
    ("fisik", 0.40),
    ("sensorik", 0.30),
    ("intelektual", 0.10),
    ("mental", 0.08),
    ("ganda", 0.12),
)
DISABILITY_SEVERITY = (("ringan", 0.5), ("sedang", 0.3), ("berat", 0.2))
PREGNANT_BY_AGE = (
    (15, 0.0),
    (20, 0.035),
    (35, 0.07),
    (40, 0.035),
    (50, 0.01),
)  # married women, (age below, P)

# --- Housing detail behind the survey's binary indicators ---------------------------------------------------
# Each entry: binary value -> ((code, base logit, welfare slope), ...); the code is drawn with
# softmax(base + slope * z). Binary value 1 of `tfloor` means "not earth", etc. (see registry/covariates.py).
DETAIL: dict[str, dict[int, tuple[tuple[str, float, float], ...]]] = {
    "floor_material": {
        0: (("tanah", 0.0, 0.0),),
        1: (
            ("keramik", 0.0, 1.0),
            ("ubin", -0.3, 0.2),
            ("semen_bata", 0.2, -0.4),
            ("kayu", -0.5, -0.5),
            ("bambu", -2.5, -0.8),
            ("lainnya", -4.0, 0.0),
        ),
    },
    "wall_material": {
        1: (("tembok", 0.0, 0.0),),
        0: (
            ("plester_anyaman", -0.5, 0.3),
            ("kayu", 0.5, 0.0),
            ("anyaman_bambu", 0.3, -0.5),
            ("batang_kayu", -2.0, -0.5),
            ("lainnya", -3.0, 0.0),
        ),
    },
    "roof_material": {
        1: (("seng", 0.0, -0.2), ("beton", -2.2, 0.8)),
        0: (
            ("genteng", 0.0, 0.2),
            ("asbes", -1.5, 0.0),
            ("sirap", -2.5, -0.3),
            ("jerami", -2.0, -0.8),
            ("lainnya", -4.0, 0.0),
        ),
    },
    "toilet": {
        1: (("sendiri", 0.0, 0.0),),
        0: (("bersama", 0.0, 0.3), ("umum", -0.8, 0.0), ("tidak_ada", 0.2, -0.6)),
    },
    "drinking_water": {
        1: (
            ("sumur_terlindung", 0.5, -0.2),
            ("ledeng", 0.0, 0.5),
            ("sumur_bor", 0.0, 0.1),
            ("kemasan", -1.0, 1.0),
            ("mata_air_terlindung", -0.7, -0.3),
            ("air_hujan", -2.0, -0.3),
        ),
        0: (
            ("sumur_tak_terlindung", 0.5, 0.0),
            ("mata_air_tak_terlindung", 0.0, 0.0),
            ("sungai", -0.3, -0.3),
            ("lainnya", -2.5, 0.0),
        ),
    },
    "lighting": {
        1: (("pln_meter", 1.5, 0.5), ("pln_tanpa_meter", 0.0, -0.3)),
        0: (("non_pln", 0.0, 0.3), ("bukan_listrik", 0.0, -0.3)),
    },
    "tenure": {
        1: (("milik_sendiri", 0.0, 0.0),),
        0: (
            ("kontrak_sewa", 0.0, 0.5),
            ("bebas_sewa", 0.2, -0.3),
            ("dinas", -2.5, 0.5),
            ("lainnya", -1.5, 0.0),
        ),
    },
}
# Cooking fuel from the survey's fcook (firewood) and gas (owns a gas burner): firewood when fcook; else LPG
# when the family has a gas stove, else kerosene (the 2008 situation) or, rarely, the rest.
COOKING_GAS = (
    ("lpg_3kg", 0.0, -0.3),
    ("lpg_besar", -1.5, 0.8),
    ("gas_kota", -4.0, 0.3),
    ("listrik", -3.5, 0.5),
)
COOKING_NO_GAS = (
    ("minyak_tanah", 0.0, 0.0),
    ("arang_briket", -2.5, -0.3),
    ("tidak_memasak", -3.0, 0.3),
    ("listrik", -3.0, 0.3),
)
POWER_VA = ((450, 0.0, -0.8), (900, 0.3, 0.0), (1300, -0.8, 0.7), (2200, -2.2, 1.2), (3500, -4.0, 1.6))

# Assets the survey does not have: (base logit, welfare slope); conditional rules in population.py.
OTHER_ASSETS: dict[str, tuple[float, float]] = {
    "boat": (-4.0, 0.0),
    "water_heater": (-5.0, 1.5),
    "flat_tv": (-2.0, 1.0),  # among TV owners
    "landline": (-4.0, 1.2),
    "land": (-1.2, 0.4),  # plus 1.5 when the head farms
    "other_house": (-3.8, 0.8),
    "goat": (-2.2, -0.2),  # plus 1.0 with chickens or cows
    "pig": (-4.0, 0.0),
    "horse": (-6.0, 0.0),
}

# --- Dwellings, SLS, names ---------------------------------------------------------------------------------
RT_SIZE = (25, 45)  # families per RT, drawn per village
RT_PER_RW = (3, 8)
SHARED_DWELLING = 0.05  # a family living in the same building as the previous family of its RT
KELURAHAN_WEIGHT = 1.5  # urban kelurahan are larger than rural desa on average
VILLAGE_WEIGHT_SIGMA = 0.5  # village weight within a kab/kota: lognormal(0, sigma) from the village code
PREVIOUS_KK = 0.15  # families that hold an earlier KK number (kk_previous)
KK_MAX_AGE_YEARS = 18  # oldest KK issue date before the reference date
LAST_NAME_SHARE = 0.6  # persons with a second name
INHERIT_LAST_NAME = 0.35  # children taking the father's second name (marga, family name)
BIRTHPLACE_SAME_KAB = 0.85
NAME_PREFIX_MALE = (
    ("Muhammad", 0.07),
    ("Ahmad", 0.03),
    ("Mohammad", 0.01),
    ("Muhamad", 0.01),
    ("Moh.", 0.005),
)
NAME_PREFIX_FEMALE = (("Siti", 0.08), ("Sri", 0.04), ("Nur", 0.03))

# --- Faults ------------------------------------------------------------------------------------------------
DUPLICATE_VARIANTS = (
    # primary variant of a duplicate record, with its probability
    ("name_typo", 0.22),
    ("name_variant", 0.18),
    ("nik_digit", 0.14),
    ("date_swap", 0.10),
    ("stale_kk", 0.10),
    ("moved", 0.16),
    ("exact", 0.10),
)
DUPLICATE_SECOND_VARIANT = (
    0.3  # a second, independent variant (name_typo, name_variant, nik_digit or date_swap)
)
DUPLICATE_SAME_FAMILY = 0.3  # of the duplicates that are not moved nor stale_kk: listed twice on the same KK
EXCLUSION_CATEGORIES = (
    ("asn", 0.33, "bkn"),
    ("guru_sertifikasi", 0.14, "bkn"),
    ("tni", 0.06, "instansi"),
    ("polri", 0.06, "instansi"),
    ("pegawai_bumn_bumd", 0.10, "bpjs"),
    ("perangkat_desa", 0.12, "instansi"),
    ("pensiunan", 0.10, "bkn"),
    ("penghasilan_apbn_apbd", 0.04, "instansi"),
    ("pendamping_sosial", 0.03, "instansi"),
    ("pengurus_perusahaan", 0.02, "bpjs"),
)
EXCLUSION_OCCUPATION = {
    "asn": "Pegawai Negeri Sipil (PNS)",
    "guru_sertifikasi": "Guru",
    "tni": "Tentara Nasional Indonesia (TNI)",
    "polri": "Kepolisian RI (POLRI)",
    "pegawai_bumn_bumd": "Karyawan BUMN",
    "perangkat_desa": "Perangkat Desa",
    "pensiunan": "Pensiunan",
    "penghasilan_apbn_apbd": "Karyawan Honorer",
    "pendamping_sosial": "Pendamping Sosial",
    "pengurus_perusahaan": "Direktur/Manajer Perusahaan",
}
DEATH_WINDOW_DAYS = (
    3 * 365
)  # deceased-but-listed persons died within this many days before the reference date
