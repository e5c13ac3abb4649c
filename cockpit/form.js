// The "Add a rule" form: output rows, reading the fields into the AddRule
// arguments, and showing each error next to the field it names. The daemon
// validates; the page only refuses what AddRule's types cannot carry (a port
// or TTL that is not a number), with the same field paths. Addresses are
// IPv4 or IPv6; an IPv6 address copied from the table ("[ff3e::1]") loses
// its brackets, which only separate it from the port there.

import { splitFieldMessage } from "./errors.js";

const $ = id => document.getElementById(id);

const INPUT_FIELDS = { interface: "f-in-interface", address: "f-in-address", port: "f-in-port", source: "f-in-source" };

export class RuleForm {
    constructor() {
        this.form = $("add-form");
        this.outputs = $("outputs");
        this.template = $("output-row");
        $("add-output").addEventListener("click", () => this.addOutputRow());
        this.addOutputRow();
    }

    addOutputRow() {
        const row = this.template.content.firstElementChild.cloneNode(true);
        row.querySelector(".o-remove").addEventListener("click", () => {
            if (this.outputs.children.length > 1)
                row.remove();
        });
        this.outputs.append(row);
    }

    rows() {
        return [...this.outputs.querySelectorAll(".output-row")];
    }

    // Form -> AddRule arguments; throws {path, reason} for a non-number.
    read() {
        const text = id => $(id).value.trim();
        const address = value => value.replace(/^\[([^\]]*)\]$/, "$1");
        const number = (value, path, max, empty) => {
            if (value === "" && empty !== undefined)
                return empty;
            if (!/^\d+$/.test(value) || Number(value) > max)
                throw { path, reason: `must be a number 0..${max}, got "${value}"` };
            return Number(value);
        };
        return {
            name: text("f-name"),
            input: {
                interface: text(INPUT_FIELDS.interface),
                address: address(text(INPUT_FIELDS.address)),
                port: number(text(INPUT_FIELDS.port), "input.port", 65535),
                source: address(text(INPUT_FIELDS.source)),
            },
            allowLinkLocal: $("f-allow-link-local").checked,
            outputs: this.rows().map((row, i) => {
                const value = cls => row.querySelector(cls).value.trim();
                return {
                    interface: value(".o-interface"),
                    address: address(value(".o-address")),
                    port: number(value(".o-port"), `outputs[${i}].port`, 65535),
                    ttl: number(value(".o-ttl"), `outputs[${i}].ttl`, 255, 0),
                    // The output's "listeners": "required" (mcrd.json(5)); unticked is the default, "always".
                    listenersRequired: row.querySelector(".o-listeners").checked,
                };
            }),
        };
    }

    clearErrors() {
        for (const node of this.form.querySelectorAll(".field-error")) {
            node.textContent = "";
            node.hidden = true;
        }
        for (const node of this.form.querySelectorAll("[aria-invalid]"))
            node.removeAttribute("aria-invalid");
    }

    // The error element and input a field path belongs to.
    target(path) {
        const output = /^outputs\[(\d+)\](?:\.([a-z]+))?$/.exec(path);
        if (output) {
            const row = this.rows()[Number(output[1])];
            if (row) {
                const field = output[2] || "row";
                const error = row.querySelector(`.o-err-${field}`) || row.querySelector(".o-err-row");
                return { error, input: row.querySelector(`.o-${field}`) };
            }
            path = "outputs";
        }
        const input = /^input\.([a-z]+)$/.exec(path);
        const named = { name: "f-name", allow_link_local: "f-allow-link-local" };
        const inputId = input ? INPUT_FIELDS[input[1]] : named[path] || null;
        const error = this.form.querySelector(`.field-error[data-for="${CSS.escape(path)}"]`);
        return error ? { error, input: inputId ? $(inputId) : null } : null;
    }

    // True if the message named a field and is now shown beside it.
    showFieldError(message) {
        const { path, reason } = typeof message === "string" ? splitFieldMessage(message) : message;
        const target = path ? this.target(path) : null;
        if (!target)
            return false;
        target.error.textContent = `${path}: ${reason}`;
        target.error.hidden = false;
        if (target.input) {
            target.input.setAttribute("aria-invalid", "true");
            target.input.focus();
        }
        return true;
    }

    reset() {
        this.form.reset();
        this.rows().slice(1).forEach(row => row.remove());
        this.clearErrors();
    }
}
