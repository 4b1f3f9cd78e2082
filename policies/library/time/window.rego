# Allows requests only inside time-of-day windows: data.weft.time.windows is a list of
# {"days": ["Monday", ...] (optional: every day), "start": "HH:MM", "end": "HH:MM", "timezone": "UTC"};
# a window whose end is before its start runs past midnight.
package weft.library.time

import rego.v1

default allow := false

minutes(hhmm) := (to_number(parts[0]) * 60) + to_number(parts[1]) if parts := split(hhmm, ":")

in_window(window) if {
	now := [time.now_ns(), object.get(window, "timezone", "UTC")]
	clock := time.clock(now)
	current := (clock[0] * 60) + clock[1]
	day_ok(window, time.weekday(now))
	between(current, minutes(window.start), minutes(window.end))
}

day_ok(window, _) if not window.days

day_ok(window, day) if day in window.days

between(t, start, end) if {
	start <= end
	t >= start
	t < end
}

between(t, start, end) if {
	start > end
	t >= start
}

between(t, start, end) if {
	start > end
	t < end
}

allow if {
	some window in data.weft.time.windows
	in_window(window)
}
