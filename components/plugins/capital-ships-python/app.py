"""Keep only killmails with a capital ship on them, as the host's static data classes ships.

The Python twin of the Rust and JavaScript capital-ships examples: same settings, same
verdicts, same reasons. Settings: `match` = `any` (default: victim or an attacker) or
`victim` (capital losses only).
"""

from wit_world import exports
from wit_world.imports import static_data
from wit_world.imports.types import KillmailSummary, Setting, Verdict, Verdict_Accept, Verdict_Reject


def is_capital(ship_type_id: int | None) -> bool:
    if ship_type_id is None:
        return False
    item = static_data.lookup_type(ship_type_id)
    return item is not None and item.capital


def decide(killmail: KillmailSummary, settings: list[Setting]) -> str | None:
    """None to keep the killmail, else the reason to drop it."""
    scope = next((s.value for s in settings if s.key == "match"), "any")
    if scope == "victim":
        return None if is_capital(killmail.victim.ship_type_id) else "the victim flew no capital ship"
    if scope != "any":
        return f'misconfigured: match "{scope}" is not any or victim'
    ships = [killmail.victim.ship_type_id] + [a.ship_type_id for a in killmail.attackers]
    return None if any(is_capital(ship) for ship in ships) else "no capital ship on the killmail"


class Filter(exports.Filter):
    def evaluate(self, killmail: KillmailSummary, settings: list[Setting]) -> Verdict:
        reason = decide(killmail, settings)
        return Verdict_Accept() if reason is None else Verdict_Reject(reason)
