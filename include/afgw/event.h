/*
 * event.h - the Event JSON of DESIGN.md §8, gateway/event.c.
 *
 * One JSON object per decoded message.  Field names and meanings are a
 * contract with operators' scripts and police systems; README.md lists
 * them.  Optional values that are absent are written as null, so every
 * line of one kind has the same keys.
 */
#ifndef AFGW_EVENT_H
#define AFGW_EVENT_H

#include "afgw/dissect.h"
#include "afgw/json.h"

/* Write the event's fields into an object the caller has opened with
 * afgw_json_obj_begin (so a later stage can add "verdict" before closing). */
void afgw_event_json_fields(struct afgw_jbuf *b, const struct afgw_event *ev);

/*
 * What `afgw run` writes unless output.clear_numbers: numbers (from, to,
 * pai) and the Call-ID (which often holds the caller's number) as keyed
 * pseudonyms (keys.h afgw_pseudonym), the raw forms, URIs and the
 * Request-URI (which carry numbers too) as null, and the SMS text as null.  The keys stay the same, so a line's shape does not change.
 */
struct afgw_event_privacy {
	uint8_t key[16];               /* AFGW_PSEUDONYM_KEY_BYTES */
};
void afgw_event_json_fields_private(struct afgw_jbuf *b, const struct afgw_event *ev,
				    const struct afgw_event_privacy *priv);

#endif
