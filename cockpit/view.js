// Rendering of the rules and workers tables from one relay snapshot: DOM
// built with textContent only (names and messages come from the bus), rates
// and a 60 s sparkline per rule from the counters history.

const SVG = "http://www.w3.org/2000/svg";
const HISTORY = 60;

export function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {}))
        node.setAttribute(key, value);
    for (const child of children)
        node.append(child instanceof Node ? child : String(child));
    return node;
}

const integer = new Intl.NumberFormat("en-US");
export function formatCount(n) {
    return integer.format(n || 0);
}

function formatBytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = n || 0;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit++;
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatBits(bytesPerSecond) {
    const bits = bytesPerSecond * 8;
    if (bits >= 1e9)
        return `${(bits / 1e9).toFixed(1)} Gbit/s`;
    if (bits >= 1e6)
        return `${(bits / 1e6).toFixed(1)} Mbit/s`;
    if (bits >= 1e3)
        return `${(bits / 1e3).toFixed(1)} kbit/s`;
    return `${Math.round(bits)} bit/s`;
}

// "eth0 239.1.1.1:5000", "eth0 [ff3e::1]:5000": IPv6 in brackets, as mcrctl writes it.
function endpoint(e) {
    const address = e.address.includes(":") ? `[${e.address}]` : e.address;
    return `${e.interface} ${address}:${e.port}`;
}

// An output's TTL as the row shows it; an IPv6 output's is its hop limit.
function ttlText(o) {
    if (!o.ttl)
        return "";
    return o.address.includes(":") ? ` hop limit ${o.ttl}` : ` ttl ${o.ttl}`;
}

// An output's listener policy and state, from GetStats' entry for it: an
// output whose "listeners" is "required" carries "listening" and
// "no_listener"; one without them always sends. Nothing is said before the
// rule's worker reported (no entry: the policy is not in the Rule object).
export function listenerState(outputStats) {
    if (!outputStats)
        return null;
    if (!("listening" in outputStats) && !("no_listener" in outputStats))
        return { required: false };
    return { required: true, listening: outputStats.listening === true, held: outputStats.no_listener || 0 };
}

function listenerBadge(state) {
    if (!state)
        return "";
    if (!state.required)
        return el("span", { class: "listeners muted", "data-state": "always" }, " · always sends");
    const text = state.listening ? "sending" : "holding";
    return el("span", { class: "listeners", "data-state": text, "data-held": String(state.held),
                        title: "Listeners required: copies are sent only while IGMP/MLD knows a listener on the " +
                               "interface; held copies are counted, not dropped" },
              " · listeners required · ",
              el("span", { class: state.listening ? "state ok" : "state wait" }, text),
              el("span", { class: "muted held" }, `, ${formatCount(state.held)} held`));
}

// Per-rule sample history, kept across refreshes: rates between the last two
// samples and the pps series of the sparkline.
export class RateHistory {
    constructor() {
        this.samples = new Map();
    }

    add(name, now, counters) {
        const list = this.samples.get(name) || [];
        list.push({ t: now, packets: counters.packets || 0, bytes: counters.bytes || 0 });
        while (list.length > HISTORY + 1)
            list.shift();
        this.samples.set(name, list);
    }

    retain(names) {
        for (const name of [...this.samples.keys()])
            if (!names.has(name))
                this.samples.delete(name);
    }

    // pps and bytes/s between consecutive samples; a counter reset (ResetStats,
    // rule replaced) counts as 0, never negative.
    series(name) {
        const list = this.samples.get(name) || [];
        const out = [];
        for (let i = 1; i < list.length; i++) {
            const dt = (list[i].t - list[i - 1].t) / 1000;
            const dp = list[i].packets - list[i - 1].packets;
            const db = list[i].bytes - list[i - 1].bytes;
            out.push(dt > 0 && dp >= 0 ? { pps: dp / dt, bps: Math.max(db, 0) / dt } : { pps: 0, bps: 0 });
        }
        return out;
    }
}

function sparkline(series) {
    const width = 120;
    const height = 24;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("class", "spark");
    svg.setAttribute("aria-hidden", "true");
    const max = Math.max(1, ...series.map(s => s.pps));
    const step = width / (HISTORY - 1);
    const offset = (HISTORY - series.length) * step;
    const points = series.map((s, i) => `${(offset + i * step).toFixed(1)},${(height - 1 - (s.pps / max) * (height - 3)).toFixed(1)}`);
    if (points.length > 1) {
        const line = document.createElementNS(SVG, "polyline");
        line.setAttribute("points", points.join(" "));
        svg.append(line);
    }
    return svg;
}

// What a receiver of an inspected stream would notice (the worker's
// StreamHealth::impairments): RTP lost + malformed datagrams; MPEG-TS
// continuity errors + malformed (+ the RTP layer's loss for TS in RTP).
export function impairments(health) {
    if (!health)
        return 0;
    if (health.kind === "mpegts")
        return (health.cc_errors || 0) + (health.malformed || 0) + ((health.rtp && health.rtp.lost) || 0);
    return (health.lost || 0) + (health.malformed || 0);
}

// Per-rule impairment count at the previous refresh: the health cell turns
// red when it grew since then.
export class HealthHistory {
    constructor() {
        this.seen = new Map();
    }

    // Whether the rule's impairments grew since the last call for it.
    grew(name, health) {
        const now = impairments(health);
        const before = this.seen.get(name);
        this.seen.set(name, now);
        return before !== undefined && now > before;
    }

    retain(names) {
        for (const name of [...this.seen.keys()])
            if (!names.has(name))
                this.seen.delete(name);
    }
}

// The rule's "inspect" setting and its stream's health, or "–" when the rule
// is not inspected (GetStats has no "health" for it).
function healthCell(health, grew) {
    if (!health)
        return el("td", { class: "health" }, "–");
    const rtp = health.kind === "mpegts" ? health.rtp : health;
    const parts = [health.kind === "mpegts" ? `cc errors ${formatCount(health.cc_errors)}` : `lost ${formatCount(health.lost)}`];
    if (rtp && health.kind === "mpegts")
        parts.push(`lost ${formatCount(rtp.lost)}`);
    if (health.malformed)
        parts.push(`malformed ${formatCount(health.malformed)}`);
    if (rtp && typeof rtp.jitter_us === "number")
        parts.push(`jitter ${rtp.jitter_us.toFixed(0)} µs`);
    const bad = grew || health.state === "losing";
    return el("td", { class: "health", "data-kind": health.kind, "data-grew": grew ? "yes" : "no" },
              el("span", { class: grew ? "state bad" : bad ? "state wait" : "state ok" }, `${health.kind} ${health.state}`),
              el("span", { class: "muted" }, ` ${parts.join(", ")}`));
}

function stateClass(state) {
    if (state === "active")
        return "state ok";
    if (/^error|failed/.test(state || ""))
        return "state bad";
    return "state wait";
}

// onRemove(name, button): the row's remove button was confirmed.
// healthHistory: HealthHistory, to tell new gaps from old ones.
export function renderRules(tbody, snapshot, history, healthHistory, onRemove) {
    const rows = [];
    for (const rule of snapshot.rules) {
        const s = snapshot.stats[rule.name] || {};
        const series = history.series(rule.name);
        const last = series.length ? series[series.length - 1] : { pps: 0, bps: 0 };
        const remove = el("button", { type: "button", class: "danger remove" }, "Remove");
        remove.addEventListener("click", () => {
            if (remove.dataset.confirm !== "yes") {
                remove.dataset.confirm = "yes";
                remove.textContent = "Confirm remove";
                return;
            }
            onRemove(rule.name, remove);
        });
        const source = rule.input.source ? ` from ${rule.input.source}` : "";
        rows.push(el("tr", { "data-rule": rule.name },
                     el("td", { class: "name" }, rule.name),
                     el("td", { class: "input" }, endpoint(rule.input) + source),
                     el("td", { class: "outputs" },
                        ...rule.outputs.map((o, i) => el("div", { class: "output" }, endpoint(o) + ttlText(o),
                                                         listenerBadge(listenerState((s.outputs || [])[i]))))),
                     el("td", {}, el("span", { class: stateClass(rule.state) }, rule.state || "unknown")),
                     el("td", { class: "num packets", "data-value": String(s.packets || 0) }, formatCount(s.packets)),
                     el("td", { class: "num bytes", "data-value": String(s.bytes || 0) }, formatBytes(s.bytes)),
                     el("td", { class: "num drops", "data-value": String(s.drops || 0) }, formatCount(s.drops)),
                     healthCell(s.health, healthHistory.grew(rule.name, s.health)),
                     el("td", { class: "rate" },
                        sparkline(series),
                        el("span", { class: "pps" }, `${formatCount(Math.round(last.pps))} pps`),
                        el("span", { class: "muted" }, formatBits(last.bps))),
                     el("td", { class: "actions" }, remove)));
    }
    // Keep a row whose remove button waits for confirmation: a refresh must not undo the first click.
    const pending = tbody.querySelector('button.remove[data-confirm="yes"]');
    if (pending) {
        const name = pending.closest("tr").dataset.rule;
        const index = rows.findIndex(r => r.dataset.rule === name);
        if (index >= 0) {
            const button = rows[index].querySelector("button.remove");
            button.replaceWith(pending);
        }
    }
    tbody.replaceChildren(...rows);
}

// unitStates: {unit: {active, sub}} from systemd, for workers run as units.
export function renderWorkers(tbody, workers, unitStates) {
    tbody.replaceChildren(...workers.map(w => {
        const unit = unitStates[w.unit];
        const unitText = unit ? `${unit.active} (${unit.sub})` : w.unit === "spawned" ? "not a unit" : "…";
        return el("tr", { "data-interface": w.interface },
                  el("td", {}, w.interface),
                  el("td", {}, w.unit),
                  el("td", {}, el("span", { class: stateClass(w.state) }, w.state),
                     w.detail ? el("span", { class: "muted" }, ` ${w.detail}`) : ""),
                  el("td", { class: "unit-state" },
                     el("span", { class: stateClass(unit ? unit.active : "") }, unitText)),
                  el("td", { class: "num" }, String(w.pid || (unit && unit.pid) || "–")),
                  // "tc" or "tc-legacy" (the attach mode), or "userspace" and why
                  // (not-permitted, foreign-program, off, ...).
                  el("td", { class: "fast-path" }, w.fastPath && w.fastPath.mode ? w.fastPath.mode : "–",
                     w.fastPath && w.fastPath.reason ? el("span", { class: "muted" }, ` ${w.fastPath.reason}`) : ""));
    }));
}
