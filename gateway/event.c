/*
 * event.c - an event as one line of JSON.
 *
 * Common fields first (ts, proto, transport, src, dst, valid, anomalies),
 * then SIP fields, then SMS fields.  SIP header values are written with
 * line folds collapsed to one space, as RFC 3261 §7.3.1 says they mean.
 * Numbers are written in canonical form (DESIGN.md §6), their raw forms
 * beside them.
 *
 * Speed: `afgw decode` writes one of these per message, so the line is
 * written in one go: the most it can take is worked out first and
 * reserved once, then keys and punctuation are copied as literals and
 * strings escaped straight into the buffer (afgw_json_put_str), with no
 * per-field calls or bounds checks.  Addresses are formatted in place:
 * their text (digits, hex, '.', ':', '[', ']') never needs escaping.
 * The bytes are exactly those the afgw_json_key / afgw_json_str sequence
 * would write.
 */
#include "afgw/event.h"
#include "afgw/keys.h"

/* Fixed text of the longest line (keys, punctuation, literals, ts, ints). */
#define FIXED_MAX 640

/* Append a string literal (its text, without the NUL). */
#define LIT(o, s) (memcpy((o), (s), sizeof(s) - 1), (o) + sizeof(s) - 1)

static size_t str_max(struct afgw_str s)
{
	return s.p ? AFGW_JSON_STR_MAX(s.len) : 4;
}

/* The most afgw_event_json_fields() writes for ev. */
static size_t line_max(const struct afgw_event *ev)
{
	size_t n = FIXED_MAX + 2 * AFGW_JSON_STR_MAX(AFGW_ADDR_TEXT);
	for (unsigned i = 0; i < ev->n_anomalies; i++)
		n += AFGW_JSON_STR_MAX(strlen(ev->anomalies[i])) + 1;
	n += 3 * AFGW_JSON_STR_MAX(AFGW_NUMBER_MAX);
	n += str_max(ev->from_raw) + str_max(ev->to_raw);
	const struct afgw_sip_msg *m = ev->sip;
	if (m) {
		n += str_max(m->method) + str_max(m->call_id) + str_max(m->ruri);
		n += str_max(m->from.uri) + str_max(m->to.uri) + str_max(m->user_agent);
	}
	if (ev->is_sms) {
		n += AFGW_JSON_STR_MAX(ev->op ? strlen(ev->op) : 0);
		n += AFGW_JSON_STR_MAX(ev->text ? ev->text_len : 0);
	}
	return n;
}

static char *put_uint(char *o, unsigned long long v)
{
	char t[24];
	char *e = t + sizeof(t), *p = e;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(o, p, (size_t)(e - p));
	return o + (e - p);
}

static char *put_int(char *o, long long v)
{
	if (v < 0) {
		*o++ = '-';
		return put_uint(o, 0ull - (unsigned long long)v);
	}
	return put_uint(o, (unsigned long long)v);
}

/* A value that is a header's text with folds undone, or null. */
static char *str_or_null(char *o, struct afgw_str s, bool present)
{
	if (present && s.p)
		return afgw_json_put_str(o, s.p, s.len, true);
	return LIT(o, "null");
}

static char *number(char *o, const struct afgw_number *n, bool has,
		    const struct afgw_event_privacy *priv)
{
	if (!has || n->kind == AFGW_NUMBER_EMPTY)
		return LIT(o, "null");
	if (priv) {
		char p[AFGW_PSEUDONYM_TEXT];
		afgw_pseudonym(priv->key, n->canon, n->len, p);
		return afgw_json_put_str(o, p, strlen(p), false);
	}
	return afgw_json_put_str(o, n->canon, n->len, false);
}

static char *cstr(char *o, const char *s)
{
	if (!s)
		return LIT(o, "null");
	return afgw_json_put_str(o, s, strlen(s), false);
}

void afgw_event_json_fields(struct afgw_jbuf *b, const struct afgw_event *ev)
{
	afgw_event_json_fields_private(b, ev, NULL);
}

/* Contract in event.h; the order of the keys is part of the format. */
void afgw_event_json_fields_private(struct afgw_jbuf *b, const struct afgw_event *ev,
				    const struct afgw_event_privacy *priv)
{
	bool clear = priv == NULL;
	char *o = afgw_jbuf_room(b, line_max(ev));
	if (!o)
		return;
	if (b->need_comma)
		*o++ = ',';
	o = LIT(o, "\"ts\":\"");
	o += afgw_rfc3339_us(ev->ts_us, o, 28);
	o = LIT(o, "\",\"proto\":");
	o = ev->proto == AFGW_PROTO_SIP ? LIT(o, "\"sip\"") : LIT(o, "\"smpp\"");
	o = LIT(o, ",\"transport\":");
	o = ev->tcp ? LIT(o, "\"tcp\"") : LIT(o, "\"udp\"");
	o = LIT(o, ",\"src\":\"");
	o += afgw_ip_format(&ev->src_ip, ev->src_port, o, AFGW_ADDR_TEXT);
	o = LIT(o, "\",\"dst\":\"");
	o += afgw_ip_format(&ev->dst_ip, ev->dst_port, o, AFGW_ADDR_TEXT);
	*o++ = '"';
	o = ev->valid ? LIT(o, ",\"valid\":true") : LIT(o, ",\"valid\":false");
	o = LIT(o, ",\"anomalies\":[");
	for (unsigned i = 0; i < ev->n_anomalies; i++) {
		if (i)
			*o++ = ',';
		o = cstr(o, ev->anomalies[i]);
	}
	*o++ = ']';

	const struct afgw_sip_msg *m = ev->sip;
	if (m) {
		if (m->is_request) {
			o = LIT(o, ",\"method\":");
			o = m->method.p ? afgw_json_put_str(o, m->method.p, m->method.len, false)
					: LIT(o, "null");
		} else {
			o = LIT(o, ",\"status\":");
			o = put_int(o, m->status);
		}
		o = LIT(o, ",\"call_id\":");
		if (priv && m->call_id.p) { /* it often carries the caller's number */
			char p[AFGW_PSEUDONYM_TEXT];
			afgw_pseudonym(priv->key, m->call_id.p, m->call_id.len, p);
			o = afgw_json_put_str(o, p, strlen(p), false);
		} else {
			o = str_or_null(o, m->call_id, true);
		}
		o = LIT(o, ",\"cseq\":");
		o = put_uint(o, m->cseq);
		o = LIT(o, ",\"ruri\":");
		o = str_or_null(o, m->ruri, m->is_request && clear);
		o = LIT(o, ",\"from\":");
		o = number(o, &ev->from, ev->has_from, priv);
		o = LIT(o, ",\"from_uri\":");
		o = str_or_null(o, m->from.uri, m->from.present && clear);
		o = LIT(o, ",\"from_raw\":");
		o = str_or_null(o, ev->from_raw, ev->has_from && clear);
		o = LIT(o, ",\"to\":");
		o = number(o, &ev->to, ev->has_to, priv);
		o = LIT(o, ",\"to_uri\":");
		o = str_or_null(o, m->to.uri, m->to.present && clear);
		o = LIT(o, ",\"to_raw\":");
		o = str_or_null(o, ev->to_raw, ev->has_to && clear);
		o = LIT(o, ",\"pai\":");
		o = number(o, &ev->pai, ev->has_pai, priv);
		o = LIT(o, ",\"user_agent\":");
		o = str_or_null(o, m->user_agent, true);
	} else {
		o = LIT(o, ",\"from\":");
		o = number(o, &ev->from, ev->has_from, priv);
		o = LIT(o, ",\"from_raw\":");
		o = str_or_null(o, ev->from_raw, ev->has_from && clear);
		o = LIT(o, ",\"to\":");
		o = number(o, &ev->to, ev->has_to, priv);
		o = LIT(o, ",\"to_raw\":");
		o = str_or_null(o, ev->to_raw, ev->has_to && clear);
	}
	if (ev->is_sms) {
		o = LIT(o, ",\"op\":");
		o = cstr(o, ev->op);
		o = LIT(o, ",\"data_coding\":");
		o = ev->data_coding >= 0 ? put_int(o, ev->data_coding) : LIT(o, "null");
		o = LIT(o, ",\"text\":");
		if (ev->binary || !ev->text || !clear)
			o = LIT(o, "null");
		else
			o = afgw_json_put_str(o, ev->text, ev->text_len, false);
		o = LIT(o, ",\"parts\":");
		o = put_uint(o, ev->parts);
		if (ev->binary)
			o = LIT(o, ",\"binary\":true");
	}
	b->len = (size_t)(o - b->p);
	b->need_comma = true;
}
