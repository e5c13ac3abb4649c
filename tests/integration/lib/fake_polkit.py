#!/usr/bin/python3
# A stand-in for polkitd on the private test bus: answers
# org.freedesktop.PolicyKit1.Authority.CheckAuthorization from a fixed table
# (action -> allow | challenge | deny) and records every query as one JSON
# line (subject kind and details, action, flags), so tests can check what
# mcrd asked, for whom, and that it acted only on the answer.
#
#   fake_polkit.py ADDRESS LOG READY_FILE action=answer...
import json
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

address, log_path, ready_path = sys.argv[1:4]
answers = dict(arg.split("=", 1) for arg in sys.argv[4:])

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(address)


class Authority(dbus.service.Object):
    @dbus.service.method("org.freedesktop.PolicyKit1.Authority",
                         in_signature="(sa{sv})sa{ss}us", out_signature="(bba{ss})")
    def CheckAuthorization(self, subject, action, details, flags, cancellation_id):
        kind, fields = subject
        answer = answers.get(str(action), "deny")
        with open(log_path, "a") as log:
            log.write(json.dumps({"subject": str(kind),
                                  "fields": {str(k): str(v) for k, v in fields.items()},
                                  "action": str(action), "flags": int(flags), "answer": answer}) + "\n")
        return (answer == "allow", answer == "challenge", {})


name = dbus.service.BusName("org.freedesktop.PolicyKit1", bus)
Authority(bus, "/org/freedesktop/PolicyKit1/Authority")
open(ready_path, "w").close()
GLib.MainLoop().run()
