package weft.library.time_test

import rego.v1

import data.weft.library.time as window

business := [{"days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"], "start": "09:00", "end": "17:30", "timezone": "UTC"}]

overnight := [{"start": "22:00", "end": "06:00"}]

# 2026-11-30 is a Monday; 2026-11-28 a Saturday.
ns(text) := time.parse_rfc3339_ns(text)

test_inside_business_hours if {
	window.allow with data.weft.time.windows as business with time.now_ns as ns("2026-11-30T10:15:00Z")
}

test_before_opening if {
	not window.allow with data.weft.time.windows as business with time.now_ns as ns("2026-11-30T08:59:00Z")
}

test_end_is_exclusive if {
	not window.allow with data.weft.time.windows as business with time.now_ns as ns("2026-11-30T17:30:00Z")
}

test_weekend_closed if {
	not window.allow with data.weft.time.windows as business with time.now_ns as ns("2026-11-28T10:15:00Z")
}

test_window_past_midnight if {
	window.allow with data.weft.time.windows as overnight with time.now_ns as ns("2026-11-28T23:00:00Z")
	window.allow with data.weft.time.windows as overnight with time.now_ns as ns("2026-11-29T05:59:00Z")
	not window.allow with data.weft.time.windows as overnight with time.now_ns as ns("2026-11-29T12:00:00Z")
}

test_timezone_applies if {
	tz := [{"start": "09:00", "end": "17:00", "timezone": "America/New_York"}]
	window.allow with data.weft.time.windows as tz with time.now_ns as ns("2026-11-30T15:00:00Z")
	not window.allow with data.weft.time.windows as tz with time.now_ns as ns("2026-11-30T10:00:00Z")
}
