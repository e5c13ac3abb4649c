// D-Bus client of one mcrd instance (org.mcr.Relay, or org.mcr.Relay.ns.NS
// for mcrd@NS): one snapshot per refresh from the ObjectManager, GetStats
// and ListWorkers, and the writes AddRule / RemoveRule (polkit decides them
// in the daemon, as the logged-in user unless administrative access is on).

const PATH = "/org/mcr/Relay";
const MANAGER = "org.mcr.Relay.Manager";
const RULE = "org.mcr.Relay.Rule";

export function busName(ns) {
    return ns ? `org.mcr.Relay.ns.${ns}` : "org.mcr.Relay";
}

export function unitName(ns, kind) {
    return ns ? `mcrd@${ns}.${kind}` : `mcrd.${kind}`;
}

export function controlSocket(ns) {
    return ns ? `/run/mcr/${ns}/control.sock` : "/run/mcr/control.sock";
}

// An idle mcrd exits (no rules) and mcrd@NS has no bus activation: a
// connection to its control socket starts it again (socket activation) and
// its bus name comes back. Needs group "mcr" (the socket is 0660 root:mcr);
// resolves once the connection was tried.
export function wake(ns) {
    return new Promise(resolve => {
        const channel = cockpit.channel({ payload: "stream", unix: controlSocket(ns), superuser: "try" });
        const timer = window.setTimeout(() => channel.close(), 1000);
        channel.addEventListener("close", (_event, options) => {
            window.clearTimeout(timer);
            resolve(!(options && options.problem));
        });
    });
}

// The name has no owner right now (idle exit, or not started).
export function isNameMissing(error) {
    return Boolean(error) && (error.problem === "not-found" ||
        ["org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"].includes(error.name));
}

// ObjectManager variants {t, v} -> plain values.
function plain(properties) {
    const out = {};
    for (const [key, variant] of Object.entries(properties || {}))
        out[key] = variant && typeof variant === "object" && "v" in variant ? variant.v : variant;
    return out;
}

function parseStats(text) {
    try {
        const doc = JSON.parse(text);
        return doc && typeof doc === "object" ? doc : {};
    } catch (_) {
        return {};
    }
}

export class Relay {
    constructor(ns) {
        this.ns = ns;
        this.name = busName(ns);
        this.client = cockpit.dbus(this.name, { bus: "system", superuser: "try" });
    }

    close() {
        this.client.close();
    }

    call(method, args, type) {
        return this.client.call(PATH, MANAGER, method, args || [], type ? { type } : {});
    }

    // {rules: [{name, inInterface, ..., outputs, state}], stats: {name: {...}},
    //  workers: [{interface, unit, state, detail, pid, fastPath: {mode, reason}}], properties}
    async snapshot() {
        const [[objects], [statsText], [workers], [properties]] = await Promise.all([
            this.client.call(PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", []),
            this.call("GetStats"),
            this.call("ListWorkers"),
            this.client.call(PATH, "org.freedesktop.DBus.Properties", "GetAll", [MANAGER]),
        ]);
        const rules = [];
        for (const [path, interfaces] of Object.entries(objects || {})) {
            if (!interfaces[RULE])
                continue;
            const p = plain(interfaces[RULE]);
            rules.push({
                path,
                name: p.Name,
                input: { interface: p.InInterface, address: p.InAddress, port: p.InPort, source: p.InSource },
                outputs: (p.Outputs || []).map(([iface, address, port, ttl]) => ({ interface: iface, address, port, ttl })),
                state: p.State,
            });
        }
        rules.sort((a, b) => a.name.localeCompare(b.name));
        const stats = {};
        const parsed = parseStats(statsText);
        for (const entry of parsed.rules || [])
            stats[entry.name] = entry;
        // ListWorkers keeps its signature: the fast path's mode comes from GetStats.
        const fastPaths = {};
        for (const worker of parsed.workers || [])
            fastPaths[worker.interface] = worker.fast_path || {};
        return {
            rules,
            stats,
            workers: (workers || []).map(([iface, unit, state, detail, pid]) =>
                ({ interface: iface, unit, state, detail, pid, fastPath: fastPaths[iface] || {} })),
            properties: plain(properties),
        };
    }

    // rule: {name, input: {interface, address, port, source}, outputs: [{interface, address, port, ttl,
    // listenersRequired}], allowLinkLocal}. AddRule's signature has no room
    // for the link-local flag or an output's listener policy: with either,
    // the rule goes as the JSON AddRuleJSON reads (mcrd.json(5)).
    addRule(rule) {
        if (rule.allowLinkLocal || rule.outputs.some(o => o.listenersRequired)) {
            const input = { interface: rule.input.interface, address: rule.input.address, port: rule.input.port };
            if (rule.input.source)
                input.source = rule.input.source;
            const outputs = rule.outputs.map(o => Object.assign(
                { interface: o.interface, address: o.address, port: o.port }, o.ttl ? { ttl: o.ttl } : {},
                o.listenersRequired ? { listeners: "required" } : {}));
            const json = Object.assign({ name: rule.name, input, outputs },
                                       rule.allowLinkLocal ? { allow_link_local: true } : {});
            return this.call("AddRuleJSON", [JSON.stringify(json)], "s");
        }
        const outputs = rule.outputs.map(o => [o.interface, o.address, o.port, o.ttl]);
        return this.call("AddRule",
                         [rule.name, rule.input.interface, rule.input.address, rule.input.port, rule.input.source, outputs],
                         "sssqsa(ssqy)");
    }

    removeRule(name) {
        return this.call("RemoveRule", [name], "s");
    }

    // RuleAdded / RuleRemoved: refresh at once instead of at the next tick.
    onRulesChanged(callback) {
        return this.client.subscribe({ path: PATH, interface: MANAGER }, () => callback());
    }
}
