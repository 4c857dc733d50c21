"""Static shards of a sharding job: its parameters ``0=Beijing,1=Shanghai,2=Hangzhou``."""

from __future__ import annotations

from dataclasses import dataclass

from tickwork.domain.errors import InvalidParameter

__all__ = ["MAX_SHARDS", "Shard", "parse_shards"]

MAX_SHARDS = 10_000


@dataclass(slots=True, frozen=True)
class Shard:
    id: int  # sharding_id, as the job names it
    parameter: str  # sharding_parameter


def parse_shards(text: str, field: str = "parameters") -> list[Shard]:
    """``id=parameter`` items separated by commas or new lines; ids are distinct whole numbers
    >= 0 and the parameter may be empty. Raises InvalidParameter naming ``field``."""
    example = "e.g. '0=Beijing,1=Shanghai,2=Hangzhou'"
    items = [item.strip() for line in text.splitlines() for item in line.split(",")]
    items = [item for item in items if item]
    if not items:
        raise InvalidParameter(
            f"a sharding job takes its shards from {field}, which is empty; {example}",
            field=field,
        )
    if len(items) > MAX_SHARDS:
        raise InvalidParameter(
            f"{field} has {len(items)} shards; at most {MAX_SHARDS}", field=field
        )
    shards: list[Shard] = []
    seen: set[int] = set()
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isdigit():
            raise InvalidParameter(
                f"{field}: shard {item!r} is not 'id=parameter' with a whole number id; {example}",
                field=field,
            )
        shard_id = int(key)
        if shard_id in seen:
            raise InvalidParameter(f"{field}: shard id {shard_id} appears twice", field=field)
        seen.add(shard_id)
        shards.append(Shard(shard_id, value.strip()))
    return shards
