"""The ``acd`` command. Each sub-command is a thin shell over a module that does the job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec

from acd.config import load_config
from acd.errors import AcdError, ConfigError

_json = msgspec.json.Encoder()


def _cmd_check_config(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            config = load_config(path)
        except ConfigError as exc:
            for line in exc.lines():
                print(line, file=sys.stderr)
            status = 1
            continue
        print(f"{path}: ok ({config.site.name}, {len(config.agents)} agents, "
              f"skills {', '.join(config.skill_names())})")
    return status


def _cmd_replay(args: argparse.Namespace) -> int:
    from acd import logs
    from acd.replay import replay_files

    logs.configure(sys.stderr)
    config = load_config(args.config) if args.config else None
    out = sys.stdout.buffer
    missing = [p for p in args.files if not Path(p).is_file()]
    if missing:
        for p in missing:
            print(f"{p}: no such file", file=sys.stderr)
        return 1
    for record in replay_files([Path(p) for p in args.files], config):
        out.write(_json.encode(record) + b"\n")
    out.flush()
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from acd import logs
    from acd.app import run_service

    config = load_config(args.config)
    logs.configure(sys.stdout)
    return run_service(config, config_path=args.config)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acd", description="Call distribution for a SAS room, beside Asterisk.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the router against the configured Asterisk",
                         description="Connect to Asterisk's AMI, route calls, serve /healthz. "
                         "The AMI secret comes from ACD_AMI_SECRET, ami.secret_file or "
                         "$CREDENTIALS_DIRECTORY/ami-secret.")
    run.add_argument("--config", required=True, help="site config (TOML)")
    run.set_defaults(func=_cmd_run)

    check = sub.add_parser("check-config", help="validate site config files",
                           description="Exit 0 if every file is valid; otherwise print "
                           "'file: key: problem' lines and exit 1.")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(func=_cmd_check_config)

    replay = sub.add_parser("replay", help="replay recorded AMI streams, print call records",
                            description="Run recorded AMI byte streams through framing, "
                            "decoding and the engine (no network); print one JSON call record "
                            "per line.")
    replay.add_argument("files", nargs="+", metavar="FILE")
    replay.add_argument("--config", help="site config (number plan, time zone); optional")
    replay.set_defaults(func=_cmd_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return 1
    except AcdError as exc:
        print(f"acd: {exc.code}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
