"""Code lists of the registry (Regsosek / BDT style). Stored values are stable codes; labels are translated.

Sources: ../shared/docs/dtsen-domain.md §1.7 (housing block of Regsosek/PBDT, SEPAKAT material classes,
BPS 14 criteria), §2.4 (exclusion categories, Kepmensos 73/HUK/2024), §A (entities).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """Through which channel a change entered the registry."""

    IMPORT = "import", _("Bulk import")
    SYNTHETIC = "synthetic", _("Synthetic population")
    REGSOSEK = "regsosek", _("Regsosek")
    DTKS = "dtks", _("DTKS")
    P3KE = "p3ke", _("P3KE")
    MUSDES = "musdes", _("Village meeting (musdes/muskel)")
    GROUND_CHECK = "ground_check", _("Field verification")
    USUL_SANGGAH = "usul_sanggah", _("Citizen proposal or objection")
    ADMIN_MATCH = "admin_match", _("Administrative data match")
    WEB = "web", _("Web form")
    ADMIN = "admin", _("Administration")
    API = "api", _("API")
    SYSTEM = "system", _("System")


class Sex(models.TextChoices):
    MALE = "L", _("Male")
    FEMALE = "P", _("Female")


class Relationship(models.TextChoices):
    HEAD = "kepala", _("Head of family")
    SPOUSE = "pasangan", _("Wife/husband")
    CHILD = "anak", _("Child")
    CHILD_IN_LAW = "menantu", _("Child-in-law")
    GRANDCHILD = "cucu", _("Grandchild")
    PARENT = "orang_tua", _("Parent/parent-in-law")
    OTHER_RELATIVE = "famili_lain", _("Other relative")
    OTHER = "lainnya", _("Other")


class MaritalStatus(models.TextChoices):
    SINGLE = "belum_kawin", _("Never married")
    MARRIED = "kawin", _("Married")
    DIVORCED = "cerai_hidup", _("Divorced")
    WIDOWED = "cerai_mati", _("Widowed")


class Education(models.TextChoices):
    """Highest level completed."""

    NONE = "tidak_sekolah", _("No schooling / did not finish primary")
    SD = "sd", _("Primary (SD/MI)")
    SMP = "smp", _("Junior secondary (SMP/MTs)")
    SMA = "sma", _("Senior secondary (SMA/SMK/MA)")
    DIPLOMA = "diploma", _("Diploma")
    UNIVERSITY = "s1_plus", _("University (S1 or higher)")


class SchoolLevel(models.TextChoices):
    """Current enrolment."""

    NOT_ENROLLED = "tidak", _("Not in school")
    PAUD = "paud", _("Pre-school (PAUD/TK)")
    SD = "sd", _("Primary (SD/MI)")
    SMP = "smp", _("Junior secondary (SMP/MTs)")
    SMA = "sma", _("Senior secondary (SMA/SMK/MA)")
    HIGHER = "pt", _("Higher education")


class Sector(models.TextChoices):
    NONE = "tidak_bekerja", _("Not working")
    AGRICULTURE = "pertanian", _("Agriculture, forestry, fisheries")
    INDUSTRY = "industri", _("Industry, mining, construction")
    SERVICES = "jasa", _("Trade and services")


class EmploymentType(models.TextChoices):
    NONE = "tidak_bekerja", _("Not working")
    FORMAL = "formal", _("Formal (wage employee with contract)")
    INFORMAL = "informal", _("Informal (own-account, casual, family worker)")


class Disability(models.TextChoices):
    NONE = "tidak_ada", _("None")
    PHYSICAL = "fisik", _("Physical")
    SENSORY = "sensorik", _("Sensory")
    INTELLECTUAL = "intelektual", _("Intellectual")
    MENTAL = "mental", _("Mental")
    MULTIPLE = "ganda", _("Multiple")


class DisabilitySeverity(models.TextChoices):
    NONE = "tidak_ada", _("None")
    MILD = "ringan", _("Mild")
    MODERATE = "sedang", _("Moderate")
    SEVERE = "berat", _("Severe")


class LifeStatus(models.TextChoices):
    ALIVE = "hidup", _("Alive")
    DECEASED = "meninggal", _("Deceased")


class RecordStatus(models.TextChoices):
    ACTIVE = "aktif", _("Active")
    REMOVED = "nonaktif", _("Removed")


class RemovalReason(models.TextChoices):
    DECEASED = "meninggal", _("Deceased")
    MOVED = "pindah", _("Moved away")
    NOT_FOUND = "tidak_ditemukan", _("Not found")
    DUPLICATE = "duplikat", _("Duplicate record")
    WELL_OFF = "mampu", _("Well-off")
    EXCLUDED = "pengecualian", _("Exclusion category")
    MERGED = "digabung", _("Merged into another family")
    DATA_ERROR = "kesalahan_data", _("Data entry error")


class HousingTenure(models.TextChoices):
    OWNED = "milik_sendiri", _("Owned")
    RENTED = "kontrak_sewa", _("Rented / contract")
    RENT_FREE = "bebas_sewa", _("Rent-free")
    OFFICIAL = "dinas", _("Official housing")
    OTHER = "lainnya", _("Other")


class FloorMaterial(models.TextChoices):
    CERAMIC = "keramik", _("Marble / granite / ceramic / parquet")
    TILE = "ubin", _("Tile / terrazzo")
    CEMENT = "semen_bata", _("Cement / brick")
    WOOD = "kayu", _("Wood / board")
    BAMBOO = "bambu", _("Bamboo")
    EARTH = "tanah", _("Earth")
    OTHER = "lainnya", _("Other")


class WallMaterial(models.TextChoices):
    MASONRY = "tembok", _("Masonry / plastered")
    PLASTERED_BAMBOO = "plester_anyaman", _("Plastered woven bamboo or wire")
    WOOD = "kayu", _("Wood / board")
    WOVEN_BAMBOO = "anyaman_bambu", _("Woven bamboo")
    LOGS = "batang_kayu", _("Logs / bamboo poles")
    OTHER = "lainnya", _("Other")


class RoofMaterial(models.TextChoices):
    CONCRETE = "beton", _("Concrete")
    CLAY_TILE = "genteng", _("Clay tile")
    ZINC = "seng", _("Zinc / corrugated sheet")
    ASBESTOS = "asbes", _("Asbestos")
    WOOD_SHINGLE = "sirap", _("Wood shingle / bamboo")
    THATCH = "jerami", _("Straw / palm fibre / thatch")
    OTHER = "lainnya", _("Other")


class Toilet(models.TextChoices):
    PRIVATE = "sendiri", _("Own toilet")
    SHARED = "bersama", _("Shared with other households")
    PUBLIC = "umum", _("Public toilet")
    NONE = "tidak_ada", _("No toilet")


class DrinkingWater(models.TextChoices):
    BOTTLED = "kemasan", _("Bottled / refill")
    PIPED = "ledeng", _("Piped water")
    BOREHOLE = "sumur_bor", _("Borehole / pump")
    PROTECTED_WELL = "sumur_terlindung", _("Protected well")
    UNPROTECTED_WELL = "sumur_tak_terlindung", _("Unprotected well")
    PROTECTED_SPRING = "mata_air_terlindung", _("Protected spring")
    UNPROTECTED_SPRING = "mata_air_tak_terlindung", _("Unprotected spring")
    RAIN = "air_hujan", _("Rain water")
    SURFACE = "sungai", _("River / lake / surface water")
    OTHER = "lainnya", _("Other")


CLEAN_WATER = frozenset(
    {"kemasan", "ledeng", "sumur_bor", "sumur_terlindung", "mata_air_terlindung", "air_hujan"}
)


class Lighting(models.TextChoices):
    PLN_METER = "pln_meter", _("PLN electricity with meter")
    PLN_NO_METER = "pln_tanpa_meter", _("PLN electricity without meter")
    NON_PLN = "non_pln", _("Non-PLN electricity (generator, solar)")
    NONE = "bukan_listrik", _("No electricity (oil lamp, candle)")


class CookingFuel(models.TextChoices):
    ELECTRICITY = "listrik", _("Electricity")
    LPG_LARGE = "lpg_besar", _("LPG 5.5 kg or more")
    LPG_3KG = "lpg_3kg", _("LPG 3 kg")
    CITY_GAS = "gas_kota", _("City gas / biogas")
    KEROSENE = "minyak_tanah", _("Kerosene")
    CHARCOAL = "arang_briket", _("Charcoal / briquettes")
    FIREWOOD = "kayu_bakar", _("Firewood")
    NONE = "tidak_memasak", _("Does not cook")


class ExclusionCategory(models.TextChoices):
    """Kepmensos 73/HUK/2024 categories of people who may not receive social assistance (dtsen-domain §2.4)."""

    ASN = "asn", _("Civil servant (ASN)")
    TNI = "tni", _("Armed forces (TNI)")
    POLRI = "polri", _("Police (Polri)")
    ASN_FAMILY = "keluarga_asn", _("Family of ASN/TNI/Polri")
    PENSIONER = "pensiunan", _("State pensioner")
    CERTIFIED_TEACHER = "guru_sertifikasi", _("Certified teacher")
    STATE_INCOME = "penghasilan_apbn_apbd", _("Routine income from APBN/APBD")
    VILLAGE_OFFICIAL = "perangkat_desa", _("Village official")
    SOCIAL_WORKER = "pendamping_sosial", _("Social assistance worker")
    COMPANY_MANAGER = "pengurus_perusahaan", _("Company director or manager")
    SOE_STAFF = "pegawai_bumn_bumd", _("BUMN/BUMD employee")


class ExclusionSource(models.TextChoices):
    BKN = "bkn", _("BKN (civil service agency)")
    BPJS = "bpjs", _("BPJS")
    SELF = "mandiri", _("Self-declared")
    FIELD = "lapangan", _("Field verification")
    SANGGAH = "sanggah", _("Citizen objection")
    AGENCY_FILE = "instansi", _("Agency reference file")
    IMPORT = "import", _("Bulk import")
    SYNTHETIC = "synthetic", _("Synthetic population")


class DeathSource(models.TextChoices):
    DUKCAPIL = "dukcapil", _("Dukcapil (civil registry)")
    FIELD = "lapangan", _("Field verification")
    SANGGAH = "sanggah", _("Citizen objection")
    FAMILY = "keluarga", _("Reported by family")
    IMPORT = "import", _("Bulk import")
    SYNTHETIC = "synthetic", _("Synthetic population")


class EventKind(models.TextChoices):
    REGISTERED = "daftar", _("Registered")
    BIRTH = "lahir", _("Birth")
    DEATH = "meninggal", _("Death")
    MOVE = "pindah", _("Moved to another family")
    SPLIT = "pecah_kk", _("Family split (pecah KK)")
    MERGE = "gabung_kk", _("Families merged")
    KK_CHANGED = "ganti_kk", _("KK number changed")
    REMOVED = "nonaktif", _("Removed")
    RESTORED = "aktif_kembali", _("Restored")
    HEAD_CHANGED = "ganti_kepala", _("Head of family changed")
    PENGURUS_CHANGED = "ganti_pengurus", _("Aid recipient (pengurus) changed")


# Assets of the BDT-style list, one boolean column each on the condition snapshot.
ASSETS: list[tuple[str, str, str]] = [
    # (column, Indonesian label, English label)
    ("motorcycle", "Sepeda motor", "Motorcycle"),
    ("car", "Mobil/minibus/truk", "Car/minibus/truck"),
    ("bicycle", "Sepeda", "Bicycle"),
    ("boat", "Perahu/perahu motor", "Boat"),
    ("refrigerator", "Lemari es/kulkas", "Refrigerator"),
    ("ac", "AC", "Air conditioner"),
    ("water_heater", "Pemanas air", "Water heater"),
    ("lpg_large", "Tabung gas 5,5 kg atau lebih", "LPG cylinder 5.5 kg or more"),
    ("gas_stove", "Kompor gas", "Gas stove"),
    ("gold", "Emas/perhiasan (min. 10 gram)", "Gold/jewellery (10 g or more)"),
    ("computer", "Komputer/laptop", "Computer/laptop"),
    ("tv", "Televisi", "Television"),
    ("flat_tv", "Televisi layar datar (min. 30 inci)", "Flat-screen TV (30 inch or more)"),
    ("radio", "Radio/tape", "Radio/cassette player"),
    ("dvd", "DVD/VCD player", "DVD/VCD player"),
    ("satellite", "Antena parabola", "Satellite dish"),
    ("mobile_phone", "Telepon seluler", "Mobile phone"),
    ("landline", "Telepon rumah", "Landline telephone"),
    ("land", "Lahan/tanah (selain yang ditempati)", "Land (other than the dwelling plot)"),
    ("other_house", "Rumah di tempat lain", "House elsewhere"),
    ("chicken", "Ayam/unggas", "Chickens/poultry"),
    ("goat", "Kambing/domba", "Goats/sheep"),
    ("cow", "Sapi/kerbau", "Cows/buffalo"),
    ("pig", "Babi", "Pigs"),
    ("horse", "Kuda", "Horses"),
]
