"""Cron lines (minute hour day month weekday): parsed, checked, and the times they fire.

The digest and the prune are scheduled by cron lines read as crontab reads them (Sunday is
0 or 7, Monday 1). The scheduler (APScheduler 3) is handed the same fields with weekdays as
names, since it counts Monday as 0. Each field's syntax here is the one it takes, so a line
refused here is one it would refuse, and the times computed here are the ones it fires at,
so that a digest's period key names the very time its job fired for. Only a wall-clock time
that a daylight-saving change repeats is one time here, and two there.
"""

from __future__ import annotations

import calendar
import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# Python's (and APScheduler's) weekday numbers: Monday 0.
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_NUMBERED = re.compile(r"^(\d+)(?:-(\d+))?(?:/(\d+))?$")
_STEPPED_ALL = re.compile(r"^\*(?:/(\d+))?$")
_NAMED = re.compile(r"^([a-z]+)(?:-([a-z]+))?$", re.IGNORECASE)
# Each field's least and greatest value; a day past a month's end never fires.
_BOUNDS = {"minute": (0, 59), "hour": (0, 23), "day": (1, 31), "month": (1, 12)}
_WEEKDAY_BOUNDS = (0, 6)


def crontab_days(field: str) -> str:
    """Return a crontab day-of-week field with weekdays as names.

    Crontab counts Sunday as 0 (and 7) and Monday as 1; APScheduler 3 counts Monday as 0,
    so `0 9 * * 1` would fire on Tuesdays. Numbers become day names; names stay.
    """
    if field in ("*", "?"):
        return "*"
    days: list[str] = []
    for part in field.split(","):
        part = part.strip()
        if part.startswith("*/"):
            part = f"0-6{part[1:]}"
        found = _NUMBERED.match(part)
        if found is None:  # a name, a name range, or something the field check refuses
            days.append(part)
            continue
        first = int(found[1])
        last = int(found[2]) if found[2] is not None else first
        step = int(found[3]) if found[3] is not None else 1
        if not 0 <= first <= last <= 7 or step < 1:
            raise ValueError(f"day of week {part!r} is out of range 0-7")
        days += [_DAYS[day % 7] for day in range(first, last + 1, step)]
    return ",".join(dict.fromkeys(days))


@dataclass(frozen=True, slots=True)
class CronLine:
    """A checked cron line: its fields as the scheduler takes them, and the values each
    allows."""

    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # Monday 0
    last_day: bool  # `last` in the day field: each month's last day

    def fires_on(self, day: date) -> bool:
        """Tell whether the line fires on a calendar day (both day and weekday must match)."""
        if day.month not in self.months or day.weekday() not in self.weekdays:
            return False
        return day.day in self.days or (
            self.last_day and day.day == calendar.monthrange(day.year, day.month)[1]
        )

    def times_on(self, day: date, zone: zoneinfo.ZoneInfo) -> list[datetime]:
        """Return the times the line fires on a calendar day of a zone, in order.

        Times are read on the zone's wall clock. Of the times a daylight-saving change
        skips, the first fires as late as the change shifts it and the others not at all (as
        APScheduler fires them); a time the change repeats fires the first time.
        """
        if not self.fires_on(day):
            return []
        moments: set[datetime] = set()
        skipped = False
        for hour in sorted(self.hours):
            for minute in sorted(self.minutes):
                wall = datetime(day.year, day.month, day.day, hour, minute)
                moment = _on_the_wall_clock(wall, zone)
                if moment.replace(tzinfo=None) != wall:
                    if skipped:
                        continue
                    skipped = True
                moments.add(moment)
        return sorted(moments)


def parse_cron(line: str) -> CronLine:
    """Return the checked cron line of `minute hour day month weekday`, or raise ValueError."""
    fields = line.split()
    if len(fields) != 5:
        raise ValueError(f"a cron line has 5 fields, not {len(fields)}: {line!r}")
    minute, hour, day, month, weekday = fields
    day_of_week = crontab_days(weekday)
    days, last_day = _days(day)
    return CronLine(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=day_of_week,
        minutes=_values("minute", minute),
        hours=_values("hour", hour),
        days=days,
        months=_values("month", month, names=_MONTHS, first_name=1),
        weekdays=_values(
            "day_of_week", day_of_week, names=_WEEKDAYS, first_name=0, bounds=_WEEKDAY_BOUNDS
        ),
        last_day=last_day,
    )


def latest_fire(
    schedule: str, timezone: str, now: datetime, lookback: timedelta
) -> datetime | None:
    """Return the latest time the cron line fired at or before `now`, within `lookback`."""
    cron = parse_cron(schedule)
    zone = zoneinfo.ZoneInfo(timezone)
    start = now - lookback
    # Day by day backwards: the first day with a time in the window holds the latest (a
    # daylight-saving change shifts a time by an hour or so, never into another day).
    day = now.astimezone(zone).date()
    while True:
        times = [moment for moment in cron.times_on(day, zone) if start <= moment <= now]
        if times:
            return times[-1]
        if datetime.combine(day, time(), zone) <= start:
            return None
        day -= timedelta(days=1)


def _on_the_wall_clock(moment: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """Return a wall-clock time in a zone as the instant it names, as APScheduler does:
    a skipped time moves on by the skip, a repeated one is taken the first time."""
    return datetime.fromtimestamp(moment.replace(tzinfo=zone).timestamp(), zone)


def _days(field: str) -> tuple[frozenset[int], bool]:
    """Return the day field's days of the month and whether it names the month's last."""
    parts = [part for part in field.split(",") if part.strip().lower() != "last"]
    last = len(parts) != len(field.split(","))
    return (_values("day", ",".join(parts)) if parts else frozenset()), last


def _values(
    name: str,
    field: str,
    *,
    names: tuple[str, ...] = (),
    first_name: int = 0,
    bounds: tuple[int, int] | None = None,
) -> frozenset[int]:
    """Return the values a field allows; raise ValueError naming a part out of range.

    `*`, `*/step`, `n`, `n-m`, `n-m/step`, `n/step` (n to the greatest value), and where the
    field has them, names and name ranges (`mon-fri`, `jan`).
    """
    least, greatest = bounds or _BOUNDS[name]
    values: set[int] = set()
    for part in (part.strip() for part in field.split(",")):
        everything = _STEPPED_ALL.match(part)
        numbered = _NUMBERED.match(part)
        named = _NAMED.match(part) if names else None
        if everything is not None:
            step = _step(part, everything[1], greatest - least)
            values.update(range(least, greatest + 1, step))
        elif numbered is not None:
            first = int(numbered[1])
            last = int(numbered[2]) if numbered[2] is not None else None
            step = None if numbered[3] is None else int(numbered[3])
            if last is None and step is None:
                last = first
            if last is not None and first > last:
                raise ValueError(f"{part!r}: a range may not start after it ends ({name})")
            if first < least:
                raise ValueError(f"{part!r}: {first} is below the least {name} ({least})")
            if last is not None and last > greatest:
                raise ValueError(f"{part!r}: {last} is above the greatest {name} ({greatest})")
            # `or`, as APScheduler has it: a range ending at 0 is checked against the top.
            step = _step(part, numbered[3], (last or greatest) - first)
            values.update(range(first, (greatest if last is None else last) + 1, step))
        elif named is not None:
            first = _named(names, named[1], name) + first_name
            last = _named(names, named[2], name) + first_name if named[2] else first
            if first > last:
                raise ValueError(f"{part!r}: a range may not start after it ends ({name})")
            values.update(range(first, last + 1))
        else:
            raise ValueError(f"{part!r} is not a {name} (e.g. *, 5, 1-5, */15)")
    return frozenset(values)


def _step(part: str, step: str | None, span: int) -> int:
    """Return a part's step (1 without one); refuse 0 and one longer than its range."""
    if step is None:
        return 1
    if int(step) == 0:
        raise ValueError(f"{part!r}: a step must be 1 or more")
    if int(step) > span:
        raise ValueError(f"{part!r}: the step {step} is longer than the range ({span})")
    return int(step)


def _named(names: tuple[str, ...], name: str, field: str) -> int:
    try:
        return names.index(name.lower())
    except ValueError:
        raise ValueError(f"{name!r} is not a {field} name") from None
