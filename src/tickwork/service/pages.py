"""The bounds of a page of a listing, the same for every listing and every face."""

from __future__ import annotations

from tickwork.domain.errors import InvalidParameter
from tickwork.domain.limits import PAGE_MAX, PAGE_SIZE_MAX

__all__ = ["check_page"]


def check_page(page: int, page_size: int) -> None:
    """Raise InvalidParameter naming ``page`` or ``page_size`` when it is out of bounds (a page
    past PAGE_MAX would put the listing's offset past what the database can count)."""
    if not 1 <= page <= PAGE_MAX:
        raise InvalidParameter(f"page must be in 1..{PAGE_MAX}", field="page")
    if not 1 <= page_size <= PAGE_SIZE_MAX:
        raise InvalidParameter(f"page_size must be in 1..{PAGE_SIZE_MAX}", field="page_size")
