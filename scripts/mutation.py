"""Mutation testing of the core modules (`make mutation`), with cosmic-ray.

The core modules and the tests that guard each of them are listed here, in MODULES, and only
here. For each module asked for (all by default):

1. a copy of the tree is made in var/mutation/tree (cosmic-ray mutates files in place: the
   working tree is never touched, and a run killed half-way leaves nothing mutated behind);
2. `cosmic-ray init` lists every mutant of the module; mutants of the operator families that
   only produce noise (bit operators, powers…) are dropped, and so are the equivalents listed
   in tests/mutation_equivalents.toml (mutants that cannot change behaviour, with the reason);
3. a random sample of the rest (`--sample`, fixed seed so runs compare) is run: each mutant is
   applied and the module's own test files run against it (`-x`, a timeout per mutant), until
   the time cap of the module (`--cap`) is reached;
4. the report (var/mutation-report.md, also printed) gives per module: mutants run, killed,
   survived, the score (killed / run), and each surviving mutant as a diff.

Not part of `make test`: it takes minutes per module on a 2-core machine. With DATABASE_URL
pointing at PostgreSQL the test database is kept between mutants (--reuse-db), which is faster
and runs the PostgreSQL-only tests (row locks) too.

    .venv/bin/python scripts/mutation.py                      # every module
    .venv/bin/python scripts/mutation.py workdays decisions   # some
    .venv/bin/python scripts/mutation.py --sample 40 --cap 900 delivery
"""

import argparse
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "mutation"
TREE = WORK / "tree"
REPORT = ROOT / "var" / "mutation-report.md"
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.toml"


@dataclass(frozen=True)
class Module:
    paths: tuple[str, ...]
    tests: tuple[str, ...]


# The core modules, and the test files that must catch a change in each (the run stays bounded).
MODULES: dict[str, Module] = {
    "workdays": Module(("rulebook/workdays.py",), ("tests/rulebook", "tests/deadlines/test_workdays.py")),
    "precheck": Module(
        ("shutdown/rules.py",),
        (
            "tests/shutdown/test_rules.py",
            "tests/shutdown/test_rules_guards.py",
            "tests/shutdown/test_rules_mutants.py",
        ),
    ),
    "decisions": Module(
        ("approvals/services/decisions.py",),
        (
            "tests/approvals/test_decisions.py",
            "tests/approvals/test_decisions_guards.py",
            "tests/approvals/test_decisions_mutants.py",
            "tests/approvals/test_concurrency.py",
        ),
    ),
    "signatures": Module(
        ("approvals/services/signatures.py",),
        (
            "tests/approvals/test_signing.py",
            "tests/approvals/test_signing_secrets.py",
            "tests/approvals/test_signing_mutants.py",
        ),
    ),
    "tenancy": Module(
        ("agency/tenancy.py", "agency/views/base.py", "agency/api/base.py"),
        (
            "tests/agency/test_tenancy_mutants.py",
            "tests/agency/test_api_foundation.py",
            "tests/agency/test_deactivated_agency.py",
            "tests/accounts/test_tokens.py",
            "tests/test_isolation.py",
        ),
    ),
    "delivery": Module(
        ("notifications/services/delivery.py",),
        (
            "tests/notifications/test_delivery.py",
            "tests/notifications/test_delivery_guards.py",
            "tests/notifications/test_claim_send_record.py",
            "tests/notifications/test_secret_redaction.py",
            "tests/notifications/test_delivery_mutants.py",
            "tests/notifications/test_delivery_counts.py",
            "tests/notifications/test_sqlite_writer.py",
        ),
    ),
    "importer": Module(
        ("agency/fields.py", "agency/importers/columns.py"),
        ("tests/agency/test_importer_mutants.py", "tests/agency/test_subaccount_import.py",
         "tests/agency/test_hostile_files.py",
         "tests/agency/test_short_years_and_money.py", "tests/agency/test_decision_fields.py"),
    ),
}

# Operator families left out: on this code they yield type errors (incompetent mutants, killed
# by any test) or duplicates of the families kept, and only make the run longer.
NOISE = re.compile(
    r"ReplaceBinaryOperator_.*_(BitOr|BitAnd|BitXor|LShift|RShift|Pow|FloorDiv|Mod)$"
    r"|ReplaceBinaryOperator_(BitOr|BitAnd|BitXor|LShift|RShift|Pow|FloorDiv|Mod)_"
    r"|ReplaceUnaryOperator_.*(Invert|UAdd)|VariableInserter|VariableReplacer"
)


def copy_tree() -> None:
    TREE.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - fixed arguments
        [  # noqa: S607 - rsync from PATH
            "rsync",
            "-a",
            "--delete",
            "--exclude",
            ".git",
            "--exclude",
            ".venv",
            "--exclude",
            "/var/",
            "--exclude",
            "__pycache__",
            "--exclude",
            "mutants",
            f"{ROOT}/",
            f"{TREE}/",
        ],
        check=True,
    )
    (TREE / "var").mkdir(exist_ok=True)
    venv = TREE / ".venv"
    if not venv.exists():
        venv.symlink_to((ROOT / ".venv").resolve())


def load_equivalents() -> list[dict]:
    if not EQUIVALENTS.exists():
        return []
    return tomllib.loads(EQUIVALENTS.read_text())["equivalent"]


def _mutated_line(mutation, source: str) -> str:
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator

    code = mutate_code(
        source, get_operator(mutation.operator_name)(**mutation.operator_args), mutation.occurrence
    )
    lines = (code or "").splitlines()
    return lines[mutation.start_pos[0] - 1] if mutation.start_pos[0] <= len(lines) else ""


def equivalent_for(mutation, source: str, equivalents: list[dict]) -> dict | None:
    """The entry of the equivalents file that covers this mutant: its line contains `contains`,
    its operator matches `operator` and, if given, the mutated line contains `mutated`."""
    lines = source.splitlines()
    line = lines[mutation.start_pos[0] - 1] if mutation.start_pos[0] <= len(lines) else ""
    for eq in equivalents:
        if (
            eq["module"] == str(mutation.module_path)
            and eq["contains"] in line
            and re.search(eq.get("operator", ""), mutation.operator_name)
            and ("mutated" not in eq or eq["mutated"] in _mutated_line(mutation, source))
        ):
            return eq
    return None


def on_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith("postgres")


def _pg(database: str):
    import dj_database_url
    import psycopg

    s = dj_database_url.parse(os.environ["DATABASE_URL"])
    return psycopg.connect(
        dbname=database,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        autocommit=True,
    )


def _pg_names() -> tuple[str, str]:
    import dj_database_url

    name = dj_database_url.parse(os.environ["DATABASE_URL"])["NAME"]
    return f"test_{name}", f"{name}_mutation_tpl"  # pytest-django's test database, our template


def prepare_template() -> None:
    """PostgreSQL: a migrated database (with the data migrations: the calendar…) to copy for each
    mutant's test run, instead of migrating every time (minutes on this machine)."""
    test_db, template = _pg_names()
    with _pg("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{template}"')
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    subprocess.run(  # noqa: S603 - our own venv and manage.py
        [str(ROOT / ".venv/bin/python"), "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=TREE,
        check=True,
        env={**os.environ, "DATABASE_URL": f"{base}/{template}", "TESTING": "1"},
    )


def fresh_test_database() -> None:
    """The test database, copied from the template: every run starts from the same migrated
    state, whatever the previous run (a transactional test flushes the tables) left behind."""
    test_db, template = _pg_names()
    with _pg("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{test_db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{test_db}" TEMPLATE "{template}"')


def test_command(module: Module, name: str) -> str:
    if on_postgres():  # this script again: a fresh copy of the template, then pytest --reuse-db
        return shlex.join([".venv/bin/python", "scripts/mutation.py", "--run-tests", name])
    args = [".venv/bin/python", "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    return shlex.join([*args, *module.tests])


def run_tests(name: str) -> int:
    fresh_test_database()
    args = ["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--reuse-db", *MODULES[name].tests]
    return subprocess.call([sys.executable, *args], env={**os.environ, "TESTING": "1"})  # noqa: S603


def run_module(name: str, module: Module, *, sample: int, cap: float, timeout: float, seed: int) -> dict:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    config = WORK / f"{name}.toml"
    session = WORK / f"{name}.sqlite"
    session.unlink(missing_ok=True)
    paths = ", ".join(f'"{p}"' for p in module.paths)
    config.write_text(
        f"[cosmic-ray]\nmodule-path = [{paths}]\ntimeout = {timeout}\nexcluded-modules = []\n"
        f'test-command = {test_command(module, name)!r}\n\n[cosmic-ray.distributor]\nname = "local"\n'
    )
    subprocess.run(  # noqa: S603 - our own venv and paths
        [str(ROOT / ".venv/bin/cosmic-ray"), "init", str(config), str(session)], cwd=TREE, check=True
    )
    equivalents = load_equivalents()
    skipped = WorkResult(worker_outcome=WorkerOutcome.SKIPPED)
    found_equivalents, candidates, noise = [], [], 0
    with use_db(str(session), WorkDB.Mode.open) as db:
        sources = {p: (TREE / p).read_text() for p in module.paths}
        for item in db.work_items:
            mutation = item.mutations[0]
            eq = equivalent_for(mutation, sources[str(mutation.module_path)], equivalents)
            if NOISE.search(mutation.operator_name):
                noise += 1
                db.set_result(item.job_id, skipped)
            elif eq is not None:
                found_equivalents.append((mutation, eq))
                db.set_result(item.job_id, skipped)
            else:
                candidates.append(item)
        rng = random.Random(seed)
        chosen = (
            {item.job_id for item in rng.sample(candidates, min(sample, len(candidates)))} if sample else None
        )
        for item in candidates:
            if chosen is not None and item.job_id not in chosen:
                db.set_result(item.job_id, skipped)
    originals = {p: (TREE / p).read_text() for p in module.paths}
    started = time.monotonic()
    baseline = subprocess.run(  # noqa: S603 - our own command
        shlex.split(test_command(module, name)),
        cwd=TREE,
        env={**os.environ, "TESTING": "1"},
        capture_output=True,
        text=True,
        timeout=timeout * 2,
    )
    if baseline.returncode != 0:  # a score over a red suite would mean nothing
        tail = (baseline.stdout + baseline.stderr).strip().splitlines()[-5:]
        raise SystemExit(f"mutation: the tests of {name} fail without any mutant:\n" + "\n".join(tail))
    proc = subprocess.Popen(  # noqa: S603 - our own venv and paths
        [str(ROOT / ".venv/bin/cosmic-ray"), "exec", str(config), str(session)],
        cwd=TREE,
        env={**os.environ, "TESTING": "1"},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        proc.wait(timeout=cap)
        capped = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        capped = True
    finally:
        for p in module.paths:  # a mutant left applied by the cap is undone
            (TREE / p).write_text(originals[p])
    elapsed = time.monotonic() - started
    killed, survived = 0, []
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            if result.worker_outcome == WorkerOutcome.NORMAL and not result.is_killed:
                survived.append((item.mutations[0], result.diff or ""))
            else:
                killed += 1
        pending = db.num_work_items - db.num_results
    run = killed + len(survived)
    return {
        "name": name,
        "module": module,
        "all": len(candidates) + noise + len(found_equivalents),
        "noise": noise,
        "equivalents": found_equivalents,
        "candidates": len(candidates),
        "run": run,
        "killed": killed,
        "survived": survived,
        "pending": pending,
        "capped": capped,
        "seconds": elapsed,
    }


def report(results: list[dict], args) -> str:
    out = [
        "# Mutation testing report",
        "",
        f"cosmic-ray, `scripts/mutation.py` (sample {args.sample or 'all'} per module, seed {args.seed}, "
        f"cap {args.cap:.0f} s per module, {args.timeout:.0f} s per mutant). "
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"database: {'PostgreSQL' if os.environ.get('DATABASE_URL', '').startswith('postgres') else 'SQLite'}.",
        "",
        "| module | files | mutants | equivalent | run | killed | survived | score | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        score = f"{100 * r['killed'] / r['run']:.0f} %" if r["run"] else "–"
        note = (f"time cap reached, {r['pending']} not run" if r["capped"] else "") + (
            f"; sample of {r['candidates']}" if args.sample and r["candidates"] > args.sample else ""
        )
        out.append(
            f"| {r['name']} | {', '.join(r['module'].paths)} | {r['all'] - r['noise']} | "
            f"{len(r['equivalents'])} | {r['run']} | {r['killed']} | {len(r['survived'])} | {score} | "
            f"{note.strip('; ')} |"
        )
    for r in results:
        if r["survived"]:
            out += ["", f"## Survivors: {r['name']}", ""]
            for mutation, diff in r["survived"]:
                out += [
                    f"- {mutation.module_path}:{mutation.start_pos[0]} `{mutation.operator_name}`",
                    "",
                    "```diff",
                    *[
                        line
                        for line in diff.splitlines()
                        if line[:1] in "+-@" and not line.startswith(("+++", "---"))
                    ],
                    "```",
                    "",
                ]
        if r["equivalents"]:
            out += [
                "",
                f"Equivalent mutants left out of {r['name']}'s score ({EQUIVALENTS.relative_to(ROOT)}):",
                "",
            ]
            seen = set()
            for mutation, eq in r["equivalents"]:
                key = (eq["contains"], eq["reason"])
                if key not in seen:
                    seen.add(key)
                    out.append(f"- `{eq['contains']}` ({mutation.module_path}): {eq['reason']}")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", choices=[[], *MODULES], help="default: all")
    parser.add_argument(
        "--sample",
        type=int,
        default=int(os.environ.get("MUTATION_SAMPLE", "40")),
        help="mutants per module, at random (0: all); default 40",
    )
    parser.add_argument(
        "--cap",
        type=float,
        default=float(os.environ.get("MUTATION_CAP", "1200")),
        help="seconds per module; default 1200",
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per mutant's test run")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--run-tests", metavar="MODULE", help=argparse.SUPPRESS)  # one mutant's test run
    args = parser.parse_args(argv)
    if args.run_tests:
        return run_tests(args.run_tests)
    names = args.modules or list(MODULES)
    copy_tree()
    if on_postgres():
        prepare_template()
    results = []
    for name in names:
        print(f"mutation: {name} …", flush=True)
        results.append(
            run_module(
                name, MODULES[name], sample=args.sample, cap=args.cap, timeout=args.timeout, seed=args.seed
            )
        )
        text = report(results, args)
        REPORT.write_text(text)
    print(text)
    print(f"report: {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
