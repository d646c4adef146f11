#!/usr/bin/env python3
"""Write the trimmed static data the services embed (data/sde/) from the full SDE export.

Usage: scripts/trim-sde.py [SDE_DIR]   (default ../shared/data/sde)

capital_ship_types.txt: type ids of capital ships (titans, dreadnoughts, carriers,
supercarriers, force auxiliaries, Rorquals; freighters are capital-sized but not combat
capitals and are left out), for the capital-ships example plugin.

types.csv (type id, group id, name), groups.csv (group id, category id, name),
categories.csv (category id, name), regions.csv (region id, name): sorted by id, so a
component can binary-search the embedded text without parsing all of it.

systems.csv: id, name, constellation id, region id, true security status, stargate neighbours
(space separated). Kept as CSV so a component can embed it with include_str! and parse it in
microseconds without a JSON dependency on the hot path.
"""
import csv, json, os, sys

sde = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "sde")
out = os.path.join(os.path.dirname(__file__), "..", "data", "sde")
os.makedirs(out, exist_ok=True)

regions = {}
with open(os.path.join(sde, "mapConstellations.jsonl")) as f:
    for line in f:
        c = json.loads(line)
        regions[c["id"]] = c["regionID"]

with open(os.path.join(sde, "mapSystems.jsonl")) as f, open(os.path.join(out, "systems.csv"), "w", newline="") as o:
    w = csv.writer(o, lineterminator="\n")
    w.writerow(["system_id", "name", "constellation_id", "region_id", "security", "neighbours"])
    for line in f:
        s = json.loads(line)
        w.writerow([
            s["id"], s["name"], s["constellationID"], regions[s["constellationID"]],
            f'{s["securityStatus"]:.6f}', " ".join(str(n) for n in sorted(s.get("linkedSystemIDs") or [])),
        ])

CAPITAL_GROUPS = {30, 485, 547, 659, 883, 1538, 4594}
with open(os.path.join(sde, "items.json")) as f:
    items = json.load(f)
capitals = sorted(i["typeID"] for i in items if i["groupID"] in CAPITAL_GROUPS)
with open(os.path.join(out, "capital_ship_types.txt"), "w") as o:
    o.write("\n".join(str(t) for t in capitals) + "\n")

with open(os.path.join(out, "types.csv"), "w", newline="") as o:
    w = csv.writer(o, lineterminator="\n")
    w.writerow(["type_id", "group_id", "name"])
    seen = set()
    for i in sorted(items, key=lambda i: i["typeID"]):
        if i["typeID"] in seen or not i["name"]:
            continue
        seen.add(i["typeID"])
        w.writerow([i["typeID"], i["groupID"], i["name"]])

with open(os.path.join(sde, "invGroups.csv")) as f, open(os.path.join(out, "groups.csv"), "w", newline="") as o:
    w = csv.writer(o, lineterminator="\n")
    w.writerow(["group_id", "category_id", "name"])
    rows = sorted(csv.DictReader(f), key=lambda r: int(r["groupID"]))
    for r in rows:
        w.writerow([r["groupID"], r["categoryID"], r["groupName"]])

with open(os.path.join(sde, "invCategories.csv")) as f, open(os.path.join(out, "categories.csv"), "w", newline="") as o:
    w = csv.writer(o, lineterminator="\n")
    w.writerow(["category_id", "name"])
    for r in sorted(csv.DictReader(f), key=lambda r: int(r["categoryID"])):
        w.writerow([r["categoryID"], r["categoryName"]])

with open(os.path.join(sde, "mapRegions.jsonl")) as f, open(os.path.join(out, "regions.csv"), "w", newline="") as o:
    w = csv.writer(o, lineterminator="\n")
    w.writerow(["region_id", "name"])
    for r in sorted((json.loads(l) for l in f), key=lambda r: r["id"]):
        w.writerow([r["id"], r["regionName"]])
