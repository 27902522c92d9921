"""Business errors of the regions app (see dtsen.core.errors for the error model)."""

from __future__ import annotations

from dtsen.core.errors import NotFound


class RegionNotFound(NotFound):
    code = "region_not_found"

    def __init__(self, region_code: str, edition: str | None = None) -> None:
        where_id = f" pada edisi {edition}" if edition else ""
        where_en = f" in edition {edition}" if edition else ""
        super().__init__(
            f"Kode wilayah {region_code!r} tidak ditemukan{where_id}.",
            f"Region code {region_code!r} not found{where_en}.",
            region_code=region_code,
            edition=edition,
        )


class EditionNotFound(NotFound):
    code = "region_edition_not_found"

    def __init__(self, edition: str | None) -> None:
        if edition is None:
            super().__init__(
                "Belum ada edisi kode wilayah yang berlaku; jalankan `dtsen load_regions`.",
                "No current edition of the region codes; run `dtsen load_regions`.",
                edition=None,
            )
        else:
            super().__init__(
                f"Edisi kode wilayah {edition!r} tidak ada.",
                f"Region code edition {edition!r} does not exist.",
                edition=edition,
            )
