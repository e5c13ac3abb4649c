// systemd and bus facts the page needs around the relay: unit states (is
// mcrd running, what state is each worker unit in), starting mcrd.socket,
// and the list of relay instances (mcrd@NS units, org.mcr.Relay.ns.* names).

const SYSTEMD = "org.freedesktop.systemd1";
const SYSTEMD_PATH = "/org/freedesktop/systemd1";
const MANAGER = "org.freedesktop.systemd1.Manager";
const UNIT = "org.freedesktop.systemd1.Unit";
const SERVICE = "org.freedesktop.systemd1.Service";
const NS_PREFIX = "org.mcr.Relay.ns.";

let systemd = null;
function client() {
    if (!systemd)
        systemd = cockpit.dbus(SYSTEMD, { bus: "system", superuser: "try" });
    return systemd;
}

// {active: "active", sub: "running", load: "loaded", pid}; LoadUnit works
// for units that are not loaded yet, and needs no privileges. pid: MainPID
// of a service (0 if none), null for other units.
export async function unitState(unit) {
    const [path] = await client().call(SYSTEMD_PATH, MANAGER, "LoadUnit", [unit], { type: "s" });
    const get = (iface, name) => client().call(path, "org.freedesktop.DBus.Properties", "Get", [iface, name],
                                               { type: "ss" }).then(([variant]) => variant.v);
    const [active, sub, load, pid] = await Promise.all([
        get(UNIT, "ActiveState"), get(UNIT, "SubState"), get(UNIT, "LoadState"),
        unit.endsWith(".service") ? get(SERVICE, "MainPID") : null,
    ]);
    return { active, sub, load, pid };
}

export function startUnit(unit) {
    return client().call(SYSTEMD_PATH, MANAGER, "StartUnit", [unit, "replace"], { type: "ss" });
}

// "mcrd@red.service" -> "red" (systemd-escape: "\x2d" is "-").
function instanceOf(unit) {
    const match = /^mcrd@(.+)\.(service|socket)$/.exec(unit);
    return match ? match[1].replace(/\\x([0-9a-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))) : null;
}

// Namespaces with a relay instance: loaded mcrd@NS units and names on the
// bus. Sorted; the host instance ("") is not in the list.
export async function listNamespaces() {
    const found = new Set();
    const [units] = await client().call(SYSTEMD_PATH, MANAGER, "ListUnitsByPatterns",
                                        [[], ["mcrd@*.service", "mcrd@*.socket"]], { type: "asas" });
    for (const unit of units || []) {
        const ns = instanceOf(unit[0]);
        if (ns)
            found.add(ns);
    }
    const bus = cockpit.dbus("org.freedesktop.DBus", { bus: "system" });
    try {
        const [names] = await bus.call("/org/freedesktop/DBus", "org.freedesktop.DBus", "ListNames", []);
        for (const name of names || [])
            if (name.startsWith(NS_PREFIX))
                found.add(name.slice(NS_PREFIX.length));
    } finally {
        bus.close();
    }
    return [...found].sort();
}
