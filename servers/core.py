"""The ``core`` service: timed jobs and declarative scenarios (RasPy's core server, without code).

::

    pyros call core jobs                                   # next observatory fire time and last result of each
    pyros call core scenarios                              # state of each rule, when it last fired
    pyros call core run_job name=nightly-thinning --token <operator's token>
    pyros call core disable rule=unsafe-alert --token ...  # and enable

Configured by its ``jobs`` and ``scenarios`` lists (``docs/core.md`` gives the syntax):

* jobs fire in observatory time (cron fields in UTC, an interval, or a night's start or end plus an
  offset); :class:`pyros.automation.job_runner.JobRunner` arms them on an APScheduler 3.x
  ``BackgroundScheduler`` at the wall instants the clock gives;
* scenarios follow the K/V keys they name through :class:`pyros.kv.subscriber.KVSubscriber` and
  fire on edges (:class:`pyros.automation.scenarios.ScenarioEngine`).

Every action is a call of a service command through the broker with literal arguments and the
service's ``token``, or the built-in ``downsample_history``. Each call is logged with its result;
failures are recorded (``jobs``, ``scenarios``) and never stop the service.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pyros.automation.actions import Action, BuiltinAction, ServiceCall, perform
from pyros.automation.downsampling import DownsamplingRule, downsample_history
from pyros.automation.job_runner import JobBusy, JobRunner
from pyros.automation.jobs import parse_jobs
from pyros.automation.nights import sky_night_finder
from pyros.automation.scenarios import Firing, ScenarioEngine, parse_scenarios
from pyros.client import Client
from pyros.clock import get_clock
from pyros.config import active_config
from pyros.service import Refusal, Service, command

if TYPE_CHECKING:
    from pyros.db.engine import Database
    from pyros.kv.subscriber import KVSubscriber

log = logging.getLogger(__name__)

SCENARIO_WORKERS = 4
"""Threads making the calls of fired scenarios (the K/V thread only queues them)."""

OUTCOMES_KEPT = 10
"""Outcomes of calls kept per scenario."""


class CoreService(Service):
    """Runs the configured jobs in observatory time and the scenarios on K/V updates."""

    service_name = "core"
    version = "1.0.0"

    def __init__(self, jobs: list[Any] | None = None, scenarios: list[Any] | None = None, token: str | None = None,
                 database: str | None = None, call_timeout_s: float | None = None) -> None:
        """Check the jobs and scenarios (nothing runs before the service starts).

        Args:
            jobs: Job tables (see :mod:`pyros.automation.jobs`).
            scenarios: Scenario tables (see :mod:`pyros.automation.scenarios`).
            token: Access token sent with every call the core makes.
            database: SQLAlchemy URL for built-in actions; default ``database.url`` of the configuration.
            call_timeout_s: Wall seconds per attempt of a call; default ``client.timeout``.

        Raises:
            ValueError: For a bad job or scenario (naming it and the field), or a bad timeout.
        """
        self.job_specs = parse_jobs(jobs)
        self.rules = parse_scenarios(scenarios)
        if token is not None and not isinstance(token, str):
            raise ValueError(f"token must be text, got {type(token).__name__}")
        if call_timeout_s is not None and (isinstance(call_timeout_s, bool)
                                           or not isinstance(call_timeout_s, (int, float)) or not call_timeout_s > 0):
            raise ValueError(f"call_timeout_s must be a number of seconds > 0, got {call_timeout_s!r}")
        self.token = token
        self.call_timeout_s = call_timeout_s
        self.database_url = database
        self._database: Database | None = None
        self._database_lock = threading.Lock()
        self.engine = ScenarioEngine(self.rules)
        self._runner: JobRunner | None = None
        self._subscribers: list[KVSubscriber] = []
        self._pool: ThreadPoolExecutor | None = None
        self._outcomes: dict[str, list[dict[str, Any]]] = {rule.name: [] for rule in self.rules}
        self._outcomes_lock = threading.Lock()

    # ----------------------------------------------------------------- lifecycle

    def on_start(self) -> None:
        """Arm the jobs and subscribe to the keys the scenarios follow."""
        nights = None
        if any(job.needs_nights for job in self.job_specs):
            from pyros.astro import Sky

            nights = sky_night_finder(Sky.from_config(active_config()))
        self._runner = JobRunner(self.job_specs, self._execute, clock=get_clock, nights=nights)
        self._runner.start()
        if self.rules:
            from pyros.kv.subscriber import KVSubscriber

            self._pool = ThreadPoolExecutor(SCENARIO_WORKERS, thread_name_prefix="core-scenario")
            kv = active_config().kv
            for subtree in self.engine.subtrees():
                whole = "" if subtree == "/" else subtree  # the whole store, with its gap detection
                subscriber = KVSubscriber(kv.snapshot, kv.publisher, whole, start=False)
                subscriber.add_callback(subtree, self._on_kv_change)
                self._subscribers.append(subscriber.start())
        log.info("core: %d job(s), %d scenario(s) on %s", len(self.job_specs), len(self.rules),
                 ", ".join(self.engine.subtrees()) or "no keys")

    def on_stop(self) -> None:
        """Disarm the jobs, stop the subscriptions, close the database."""
        if self._runner is not None:
            self._runner.stop()
        for subscriber in self._subscribers:
            subscriber.stop()
        self._subscribers.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._database is not None:
            self._database.dispose()

    # ----------------------------------------------------------------- actions

    def _db(self) -> Database:
        with self._database_lock:
            if self._database is None:
                from pyros.db.engine import Database

                self._database = Database(self.database_url or active_config().database.url)
            return self._database

    def _execute(self, action: Action) -> Any:
        """Do an action: a call through the broker, or a built-in action. Raises on failure."""
        if isinstance(action, ServiceCall):
            config = active_config()
            with Client(config.broker.endpoint, timeout=self.call_timeout_s or config.client.timeout,
                        retries=config.client.retries, token=self.token) as client:
                return client.call(action.service, action.command, dict(action.args))
        if isinstance(action, BuiltinAction) and action.name == "downsample_history":
            rule = DownsamplingRule.from_mapping(action.args, where="downsample_history")
            return downsample_history(self._db(), rule, get_clock().now())
        raise ValueError(f"unknown action {action!r}")

    def _on_kv_change(self, key: str, value: Any) -> None:
        """K/V thread: evaluate the rules, queue the calls of those that fire."""
        for firing in self.engine.update(key, value, get_clock().now()):
            log.info("scenario %s fired on %s", firing.rule, firing.key)
            if self._pool is not None:
                self._pool.submit(self._run_firing, firing)

    def _run_firing(self, firing: Firing) -> None:
        for action in firing.actions:
            outcome = perform(action, self._execute, lambda: get_clock().now())
            if outcome.ok:
                log.info("scenario %s: %s -> %r", firing.rule, outcome.action, outcome.result)
            else:
                log.warning("scenario %s: %s failed: %s", firing.rule, outcome.action, outcome.error)
                self.engine.record_error(firing.rule, f"{outcome.action}: {outcome.error}")
            with self._outcomes_lock:
                kept = self._outcomes[firing.rule]
                kept.append({**outcome.to_dict(), "key": firing.key})
                del kept[:-OUTCOMES_KEPT]

    # ----------------------------------------------------------------- commands

    def _ready_runner(self) -> JobRunner:
        if self._runner is None:
            raise Refusal("NotStarted", "the core has not started yet")
        return self._runner

    @command()
    def jobs(self) -> list[dict[str, Any]]:
        """Each job: its trigger and action, its next fire time (observatory, ISO 8601 UTC), its last run.

        ``next_fire_wall`` is the wall instant the next firing is armed at; ``skipped`` counts firings
        dropped because the previous run was still going; ``error`` says why no fire time could be computed.
        """
        return self._ready_runner().states()

    @command()
    def scenarios(self) -> list[dict[str, Any]]:
        """Each scenario: its condition and calls, whether it is enabled, the keys matching now, when it
        last fired, its errors, and the outcomes of its latest calls (``calls``)."""
        with self._outcomes_lock:
            calls = {name: list(kept) for name, kept in self._outcomes.items()}
        return [{**state, "calls": calls.get(state["name"], [])} for state in self.engine.states()]

    @command(level="operator", timeout=600.0)
    def run_job(self, name: str) -> dict[str, Any]:
        """Run a job's action now (its schedule does not change); returns the outcome.

        Args:
            name: The job's name.
        """
        try:
            return self._ready_runner().run_now(name).to_dict()
        except KeyError as exc:
            raise Refusal("NotFound", str(exc.args[0])) from None
        except JobBusy as exc:
            raise Refusal("Busy", str(exc)) from None

    @command(level="operator")
    def enable(self, rule: str) -> dict[str, Any]:
        """Let a scenario fire again (a spent ``once`` scenario is re-armed).

        Args:
            rule: The scenario's name.
        """
        return self._set_enabled(rule, True)

    @command(level="operator")
    def disable(self, rule: str) -> dict[str, Any]:
        """Stop a scenario from firing (it keeps following its keys).

        Args:
            rule: The scenario's name.
        """
        return self._set_enabled(rule, False)

    def _set_enabled(self, rule: str, enabled: bool) -> dict[str, Any]:
        try:
            state: Mapping[str, Any] = self.engine.set_enabled(rule, enabled)
        except KeyError as exc:
            raise Refusal("NotFound", str(exc.args[0])) from None
        log.info("scenario %s %s", rule, "enabled" if enabled else "disabled")
        return dict(state)
