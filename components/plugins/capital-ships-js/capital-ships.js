// Keep only killmails with a capital ship on them, as the host's static data classes ships.
//
// The JavaScript twin of the Rust and Python capital-ships examples: same settings, same
// verdicts, same reasons. Settings: `match` = `any` (default: victim or an attacker) or
// `victim` (capital losses only).

import { lookupType } from 'battlescope:ruleset-filter/static-data@0.1.0';

function isCapital(shipTypeId) {
  if (shipTypeId === undefined) return false;
  const item = lookupType(shipTypeId);
  return item !== undefined && item.capital;
}

// Undefined to keep the killmail, else the reason to drop it.
function decide(killmail, settings) {
  const scope = settings.find((s) => s.key === 'match')?.value ?? 'any';
  if (scope === 'victim') {
    return isCapital(killmail.victim.shipTypeId) ? undefined : 'the victim flew no capital ship';
  }
  if (scope !== 'any') return `misconfigured: match "${scope}" is not any or victim`;
  const ships = [killmail.victim, ...killmail.attackers].map((p) => p.shipTypeId);
  return ships.some(isCapital) ? undefined : 'no capital ship on the killmail';
}

export const filter = {
  evaluate(killmail, settings) {
    const reason = decide(killmail, settings);
    return reason === undefined ? { tag: 'accept' } : { tag: 'reject', val: reason };
  },
};
