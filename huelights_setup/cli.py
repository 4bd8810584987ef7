"""`python -m huelights_setup`: pair with a bridge, list its lights and rooms, print the Kubernetes config, check it.

Settings come from the same environment variables as the functions (HUE_BRIDGE, HUE_APP_KEY, HUE_TARGET,
HUE_CA_BUNDLE, HUE_BRIDGE_ID, timeouts), so `check` validates exactly what a pod would run with; flags
override single values. The app key is printed only by `pair` and inside `secret` output, never in an
error. Exit status: 0 ok, 1 the bridge failed or `check` found a problem, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from collections.abc import Callable, Mapping, Sequence

from huelights.bridge import Deadline, HueBridge
from huelights.config import Settings, load_settings, parse_app_key, parse_trigger_token
from huelights.errors import BridgeError, BridgeUnreachable, ConfigError, TargetNotFound, Unauthorized
from huelights_setup import cli_bridge, cli_kube, cli_v2
from huelights_setup.cli_bridge import PROG
from huelights_setup.safe_text import for_terminal, lines_for_terminal

# Flag -> the environment variable it overrides.
OVERRIDES = {
    "bridge": "HUE_BRIDGE",
    "key": "HUE_APP_KEY",
    "target": "HUE_TARGET",
    "ca_bundle": "HUE_CA_BUNDLE",
    "bridge_id": "HUE_BRIDGE_ID",
    "token": "TRIGGER_TOKEN",
    "api": "HUE_API",
}
# What talking to the bridge needs; `lights` and `groups` ignore the rest so that a HUE_TARGET that does
# not resolve yet (the reason to run them) cannot stop them.
CONNECTION_VARS = (
    "HUE_API",
    "HUE_BRIDGE",
    "HUE_APP_KEY",
    "HUE_CA_BUNDLE",
    "HUE_BRIDGE_ID",
    "HUE_CONNECT_TIMEOUT",
    "HUE_READ_TIMEOUT",
    "HUE_MAX_ATTEMPTS",
    "HUE_BUDGET_SECONDS",
)


def command_env(args: argparse.Namespace, env: Mapping[str, str], names: Sequence[str] | None = None) -> dict[str, str]:
    """The environment (or the `names` part of it) with the flags given on the command line applied."""
    merged = {name: value for name, value in env.items() if names is None or name in names}
    for flag, variable in OVERRIDES.items():
        value = getattr(args, flag, None)
        if value is not None:
            merged[variable] = value
    return merged


def settings_for(args: argparse.Namespace, env: Mapping[str, str], *, full: bool = False) -> Settings:
    """Settings as the functions build them; `full` also validates the target, token and tuning values."""
    return load_settings(command_env(args, env, None if full else CONNECTION_VARS))


def settings_without_key(args: argparse.Namespace, env: Mapping[str, str]) -> Settings:
    """Connection settings before a key exists: pairing."""
    return load_settings(command_env(args, env, CONNECTION_VARS), require_app_key=False)


def _seconds(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside {low:g}..{high:g} seconds")
        return value

    return parse


def _device_type(text: str) -> str:
    if not 0 < len(text) <= 40:
        raise argparse.ArgumentTypeError("must be 1 to 40 characters, e.g. huelights#gohome")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Set up and check huelights against a Philips Hue bridge. Settings come from the "
        "environment (HUE_BRIDGE, HUE_APP_KEY, HUE_TARGET, HUE_CA_BUNDLE, HUE_BRIDGE_ID, ...), as for the "
        "functions; flags override them.",
        epilog="Exit status: 0 ok, 1 bridge error or problems found by check, 2 usage or configuration error.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show the bridge client's retries on stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    bridge = argparse.ArgumentParser(add_help=False)
    bridge.add_argument("--bridge", metavar="ADDRESS", help="bridge address or URL (default: $HUE_BRIDGE)")
    bridge.add_argument(
        "--ca-bundle", metavar="FILE", help="extra CA or saved self-signed certificate to trust ($HUE_CA_BUNDLE)"
    )
    bridge.add_argument("--bridge-id", metavar="ID", help="pin the bridge id, the certificate's CN ($HUE_BRIDGE_ID)")
    key = argparse.ArgumentParser(add_help=False)
    key.add_argument("--key", metavar="KEY", help="application key (default: $HUE_APP_KEY; prefer the variable)")
    api = argparse.ArgumentParser(add_help=False)
    api.add_argument(
        "--api",
        choices=("auto", "v2", "v1"),
        help="which API to list and check through, as HUE_API for the functions (default: $HUE_API, else auto: "
        "CLIP v2 where an https bridge serves it)",
    )
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")

    pair = commands.add_parser(
        "pair",
        parents=[bridge],
        help="create an application key (press the bridge's link button)",
        description="Asks you to press the link button, then asks the bridge for a new application key "
        "until it gives one or the wait is over. Prints the key on stdout (and nothing else there).",
    )
    pair.add_argument("--wait", type=_seconds(0.1, 300), default=30.0, help="seconds to wait for the button (30)")
    pair.add_argument("--interval", type=_seconds(0.01, 10), default=1.0, help="seconds between attempts (1)")
    pair.add_argument(
        "--device-type", type=_device_type, default="huelights#gohome", help="name the bridge lists the key under"
    )
    pair.add_argument(
        "--save", metavar="FILE", help="write HUE_APP_KEY=<key> to this new file (mode 600) instead of printing it"
    )

    commands.add_parser(
        "lights",
        parents=[bridge, key, api, as_json],
        help="list the lights and the HUE_TARGET for each",
        description="Lists every light: id, name, whether it can show colour, reachable, on, effect, and the "
        "HUE_TARGET value that selects it; on CLIP v2 also the loop colorloop gives it (prism, v1 colorloop or "
        "none), and with --json every HUE_TARGET form it answers to (name, v1 id, v2 id) and its powerup preset.",
    )
    commands.add_parser(
        "groups",
        parents=[bridge, key, api, as_json],
        help="list the rooms and zones and the HUE_TARGET for each",
        description="Lists the bridge's groups (rooms, zones, ...) with their member lights and the "
        "HUE_TARGET value that selects each; the first row is every light (HUE_TARGET=all).",
    )

    secret = commands.add_parser(
        "secret",
        parents=[key],
        help="print the Kubernetes Secret with the key and trigger token",
        description=f"Prints the Secret {cli_kube.SECRET_NAME!r} (namespace {cli_kube.NAMESPACE}) that the "
        "Knative Services read. The trigger token is --token, else $TRIGGER_TOKEN, else a new random one. "
        "Pipe it to `kubectl apply -f -`; do not commit it.",
    )
    secret.add_argument("--token", help="trigger token (default: $TRIGGER_TOKEN, else a new random token)")
    secret.add_argument(
        "--kubectl", action="store_true", help="print the `kubectl create secret` command instead of YAML"
    )

    config = commands.add_parser(
        "config",
        parents=[bridge],
        help="print the Kubernetes ConfigMap with the bridge, its id and the target",
        description=f"Prints the ConfigMap {cli_kube.CONFIG_NAME!r} (knative/base/config.yaml) for the bridge "
        "address, the bridge id the functions pin, and the target, after checking their syntax. Without "
        "--bridge-id an https bridge is asked for its id (over verified TLS, no key sent); check the rest "
        "against the bridge with `check`.",
    )
    config.add_argument("--target", help="all, group:<id or name>, lights:<id or name>,... (default: $HUE_TARGET)")

    trust = commands.add_parser(
        "trust-cert",
        parents=[bridge],
        help="save an older bridge's self-signed certificate as the HUE_CA_BUNDLE to trust",
        description="For a bridge whose firmware still signs its own certificate (not Signify's roots): "
        "fetches the certificate, shows its CN (the bridge id) and SHA-256 fingerprint, and after you "
        "confirm, saves it to --save. Then set HUE_CA_BUNDLE to that file and HUE_BRIDGE_ID to the id. "
        "Nothing is saved for a bridge that Signify's roots already vouch for.",
    )
    trust.add_argument("--save", metavar="FILE", required=True, help="new file for the certificate (PEM)")
    trust.add_argument("--yes", action="store_true", help="trust without asking (you compared the id yourself)")

    check = commands.add_parser(
        "check",
        parents=[bridge, key, api],
        help="check the settings against the bridge and show what each action would do (changes nothing)",
        description="Validates the environment as a function would read it, then checks that the bridge "
        "answers, which API the functions will speak, that it accepts the key and has the target, and shows "
        "the loop each light gets (prism, colorloop or none), its reachability and powerup preset, and what "
        "each action would send. Only reads from the bridge. Exit status 1 if anything would fail.",
    )
    check.add_argument("--target", help="all, group:<id or name>, lights:<id or name>,... (default: $HUE_TARGET)")
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    environment = os.environ if env is None else env
    log = logging.getLogger("huelights")
    # Without a handler of ours, logging's last resort would print retry warnings between the output lines.
    handler: logging.Handler = logging.StreamHandler(sys.stderr) if args.verbose else logging.NullHandler()
    handler.setFormatter(TerminalFormatter())
    log.addHandler(handler)
    bridge: HueBridge | None = None
    try:
        if args.command == "secret":
            return print_secret(args, environment)
        if args.command == "config":
            settings = settings_without_key(args, environment)
            bridge = HueBridge(settings)
            return print_config(args, environment, bridge, settings)
        if args.command == "trust-cert":
            settings = settings_without_key(args, environment)
            return cli_bridge.trust_cert(settings, args.save, assume_yes=args.yes)
        if args.command == "pair":
            settings = settings_without_key(args, environment)
            bridge = HueBridge(settings)
            return cli_bridge.pair(args, bridge, settings)
        settings = settings_for(args, environment, full=args.command == "check")
        bridge = HueBridge(settings)
        deadline = Deadline(settings.budget_seconds)
        if args.command == "check":
            warnings = cli_bridge.check_bridge(bridge, settings, deadline)
            api, why = cli_v2.api_in_use(bridge, settings, deadline)
            cli_bridge.show(f"  ok    speaking CLIP {api}: {why}")
            if api == "v2":
                return cli_v2.check(bridge, settings, deadline, warnings)
            return cli_bridge.check_v1(bridge, settings, deadline, warnings)
        api, _ = cli_v2.api_in_use(bridge, settings, deadline)
        if api == "v2":
            return cli_v2.listing(args.command, bridge, settings, deadline, as_json=args.json)
        return cli_bridge.listing(args.command, bridge, deadline, as_json=args.json)
    except ConfigError as error:
        return fail(f"configuration error: {error}{_config_hint(error, args)}", status=2)
    except BridgeError as error:
        text = describe_bridge_error(error, bridge, settings) if bridge is not None else str(error)
        return fail(text, status=1)
    except KeyboardInterrupt:
        return fail("interrupted", status=1)
    finally:
        log.removeHandler(handler)


def print_secret(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    merged = command_env(args, env, ("HUE_APP_KEY", "TRIGGER_TOKEN"))
    token = merged.get("TRIGGER_TOKEN", "").strip()
    generated = not token
    if generated:
        token = secrets.token_urlsafe(32)
    # The same rules the functions apply at start, so a Secret that prints is a Secret that works.
    app_key = parse_app_key(merged.get("HUE_APP_KEY", ""))
    checked_token = parse_trigger_token(token)
    assert checked_token is not None
    make = cli_kube.secret_command if args.kubectl else cli_kube.secret_manifest
    print(make(app_key, checked_token), flush=True)
    if generated:
        cli_bridge.say(
            "huelights: generated a new TRIGGER_TOKEN; give it to whoever calls colorloop through the Gateway"
        )
    return 0


def print_config(args: argparse.Namespace, env: Mapping[str, str], bridge: HueBridge, connection: Settings) -> int:
    merged = command_env(args, env, ("HUE_BRIDGE", "HUE_TARGET", "HUE_BRIDGE_ID", "HUE_BUDGET_SECONDS"))
    settings = load_settings(merged, require_app_key=False)
    bridge_id = settings.bridge_id or ""
    https = settings.bridge_url.startswith("https://")
    if https and not bridge_id:
        # Verified like a function's first call: chain to Signify's roots, CN = the bridgeid it reports.
        bridge_id = cli_bridge.BridgeInfo.read(bridge, Deadline(connection.budget_seconds)).bridge_id
        cli_bridge.say(f"huelights: bridge id {bridge_id} read from the bridge (certificate and /api/config agree)")
    data = {
        "HUE_BRIDGE": settings.bridge_url,
        "HUE_BRIDGE_ID": bridge_id,
        "HUE_TARGET": str(settings.target),
        "HUE_BUDGET_SECONDS": f"{settings.budget_seconds:g}",
    }
    print(cli_kube.config_manifest(data), flush=True)
    if connection.ca_bundle:
        cli_bridge.say(
            "huelights: the pods need the same HUE_CA_BUNDLE: create the ConfigMap huelights-ca-bundle from it and "
            "add the component knative/components/ca-bundle (docs/deploy.md)"
        )
    elif not https:
        cli_bridge.say("huelights: plain http: only for the round first-generation bridge, which has no https")
    return 0


def _config_hint(error: ConfigError, args: argparse.Namespace) -> str:
    flag = next((flag for flag, var in OVERRIDES.items() if var == error.variable), None)
    if flag is not None and getattr(args, flag, None) is not None:
        return f" (from --{flag.replace('_', '-')})"
    if str(error).endswith("is not set"):
        if error.variable == "HUE_APP_KEY":
            return f"; create a key with `{PROG} pair` and export it, or pass --key"
        if error.variable == "HUE_BRIDGE":
            return "; export it or pass --bridge"
    return ""


def describe_bridge_error(error: BridgeError, bridge: HueBridge, settings: Settings) -> str:
    """One line: where, what, and what to do about it; never the key."""
    text = bridge.redact(str(error))
    hint = ""
    if isinstance(error, BridgeUnreachable):
        hint = "; is the address right (HUE_BRIDGE or --bridge) and the bridge on and on this network?"
    elif isinstance(error, Unauthorized):
        hint = f"; `{PROG} pair` makes a new one"
    elif isinstance(error, TargetNotFound):
        hint = f"; `{PROG} lights` and `{PROG} groups` list the values that work"
    elif str(error).startswith("TLS verification") and "self-signed" in str(error):
        hint = f"; `{PROG} trust-cert --save bridge-cert.pem` shows it and saves it after you confirm"
    return f"bridge {settings.bridge_url}: {text}{hint}"


class TerminalFormatter(logging.Formatter):
    """-v shows the client's retries, which quote what the bridge answered: no control codes from it."""

    def format(self, record: logging.LogRecord) -> str:
        return lines_for_terminal(super().format(record))


def fail(message: str, status: int) -> int:
    # Error messages quote what the bridge sent (a description, a redirect's Location): one line, no codes.
    print(f"huelights: {for_terminal(message)}", file=sys.stderr, flush=True)
    return status
