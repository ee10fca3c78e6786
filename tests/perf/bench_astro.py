"""Astronomy benchmark: 1,000 targets x 300 instants, pyros.astro against astropy's AltAz (``make bench``).

* **pyros.astro**: :meth:`pyros.astro.Sky.targets` for 1,000 random targets
  (uniform on the sky) at 300 instants spread over a 12-hour night at San
  Pedro Mártir: altitude, azimuth, hour angle, airmass and Moon separation
  (1,000 x 300 each), plus the Sun's altitude and the Moon's position and
  illuminated fraction at the 300 instants. Target: < 0.3 s per call, warm.
* **astropy AltAz** (reference): the same 300,000 target-instant pairs through
  astropy's full ``SkyCoord(...).transform_to(AltAz(...))``, altitude and
  azimuth only (less work than pyros.astro does).

Warm means after one call of each, which loads the IERS-B table, the
leap-second table and astropy's frame machinery. Each run times both, in
alternation; medians of ``--runs`` runs (default 5). The largest differences
between the two over the 300,000 pairs are reported too. Results go to
``docs/performance.md`` between ``<!-- bench:astro:start -->`` and
``<!-- bench:astro:end -->``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import AltAz, SkyCoord, get_body
from astropy.time import Time

from pyros.astro import Sky
from pyros.config import Config
from tests.perf.doc_section import replace_section

TARGETS = 1000
INSTANTS = 300
TARGET_SECONDS = 0.3
NIGHT_START = "2025-03-01T02:00:00"


def workload() -> tuple[Sky, np.ndarray, np.ndarray, Time]:
    """The site (the default configuration), 1,000 random targets and 300 instants of one night."""
    rng = np.random.default_rng(20250301)
    ra = rng.uniform(0.0, 360.0, TARGETS)
    dec = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, TARGETS)))
    times = Time(NIGHT_START) + np.linspace(0.0, 0.5, INSTANTS) * u.day
    return Sky.from_config(Config()), ra, dec, times


def astropy_altaz(sky: Sky, ra: np.ndarray, dec: np.ndarray, times: Time) -> tuple[np.ndarray, np.ndarray]:
    """The reference: astropy's full transformation of every target-instant pair."""
    targets = SkyCoord(ra[:, None] * u.deg, dec[:, None] * u.deg, frame="icrs")
    altaz = targets.transform_to(AltAz(obstime=times[None, :], location=sky.location))
    return np.asarray(altaz.alt.deg), np.asarray(altaz.az.deg)


def measure(runs: int) -> dict[str, Any]:
    """Time both computations ``runs`` times each, after one warm-up call of each."""
    sky, ra, dec, times = workload()
    started = time.perf_counter()
    sky.targets(ra, dec, times)
    first = time.perf_counter() - started
    started = time.perf_counter()
    astropy_altaz(sky, ra, dec, times)
    first_reference = time.perf_counter() - started
    ours: list[float] = []
    reference: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        geometry = sky.targets(ra, dec, times)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        altitude, azimuth = astropy_altaz(sky, ra, dec, times)
        reference.append(time.perf_counter() - started)
    altitude_error = np.abs(geometry.altitude_deg - altitude) * 3600.0
    azimuth_error = np.abs((geometry.azimuth_deg - azimuth + 180.0) % 360.0 - 180.0) * np.cos(np.radians(altitude))
    azimuth_error *= 3600.0
    away = sun_separation_deg(ra, dec, times) > 1.0
    return {
        "first": first,
        "first_reference": first_reference,
        "ours": ours,
        "reference": reference,
        "altitude_error_arcsec": float(altitude_error.max()),
        "azimuth_error_arcsec": float(azimuth_error.max()),
        "altitude_error_away_arcsec": float(altitude_error[away].max()),
        "azimuth_error_away_arcsec": float(azimuth_error[away].max()),
        "near_sun_pairs": int((~away).sum()),
    }


def sun_separation_deg(ra: np.ndarray, dec: np.ndarray, times: Time) -> np.ndarray:
    """Approximate angle between each target and the Sun (astropy's geocentric Sun), degrees, (N, M)."""
    sun = get_body("sun", times)
    sun_ra, sun_dec = np.radians(sun.ra.deg), np.radians(sun.dec.deg)
    ra_r, dec_r = np.radians(ra)[:, None], np.radians(dec)[:, None]
    cosine = np.sin(dec_r) * np.sin(sun_dec) + np.cos(dec_r) * np.cos(sun_dec) * np.cos(ra_r - sun_ra)
    separation: np.ndarray = np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))
    return separation


def _runs(values: list[float]) -> str:
    return ", ".join(f"{v * 1000:.0f}" for v in values)


def report(results: dict[str, Any], runs: int) -> str:
    """Markdown section with medians, the target and the speed-up."""
    ours = statistics.median(results["ours"])
    reference = statistics.median(results["reference"])
    verdict = "PASS" if ours < TARGET_SECONDS else "FAIL"
    return "\n".join([
        f"### Astronomy benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"{TARGETS:,} random targets x {INSTANTS} instants over the night of {NIGHT_START[:10]} at the "
        "configured site. pyros.astro computes altitude, azimuth, hour angle, airmass and Moon separation for "
        "every pair plus the Sun's altitude and the Moon's position and illumination; the reference is astropy's "
        "full `AltAz` transformation of the same pairs (altitude and azimuth only). "
        f"Warm: after one call of each (the first calls took {results['first'] * 1000:,.0f} ms for pyros.astro "
        f"and {results['first_reference'] * 1000:,.0f} ms for astropy). "
        f"{runs} alternating runs; medians.",
        "",
        "| computation | median ms | runs (ms) | target | result |",
        "|---|---:|---|---:|---|",
        f"| pyros.astro `Sky.targets` | {ours * 1000:,.0f} | {_runs(results['ours'])} | "
        f"< {TARGET_SECONDS * 1000:,.0f} | {verdict} |",
        f"| astropy `AltAz` transform (reference) | {reference * 1000:,.0f} | {_runs(results['reference'])} "
        "| — | — |",
        "",
        f"Speed-up: {reference / ours:,.1f}x. Largest differences over the {TARGETS * INSTANTS:,} pairs: altitude "
        f"{results['altitude_error_arcsec']:.2f}\", azimuth x cos(altitude) {results['azimuth_error_arcsec']:.2f}\"; "
        f"leaving out the {results['near_sun_pairs']:,} pairs within 1° of the Sun (where the gravitational "
        "deflection of light changes within the night): altitude "
        f"{results['altitude_error_away_arcsec']:.2f}\", azimuth x cos(altitude) "
        f"{results['azimuth_error_away_arcsec']:.2f}\". pyros.astro leaves out diurnal aberration and computes "
        "the apparent places once per day of instants; neither applies refraction.",
        "",
        f"Machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} after. "
        "Reproduce: `.venv/bin/python -m tests.perf.bench_astro`.",
    ])


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--runs``, ``--no-doc``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    results = measure(args.runs)
    section = report(results, args.runs)
    print(section)
    if not args.no_doc:
        replace_section("astro", section, "## Astronomy")


if __name__ == "__main__":
    main()
