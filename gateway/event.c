/*
 * event.c - an event as one line of JSON.
 *
 * Common fields first (ts, proto, transport, src, dst, valid, anomalies),
 * then SIP fields, then SMS fields.  SIP header values are written with
 * line folds collapsed to one space, as RFC 3261 §7.3.1 says they mean.
 * Numbers are written in canonical form (DESIGN.md §6), their raw forms
 * beside them.
 */
#include "afgw/event.h"

static void str_or_null(struct afgw_jbuf *b, const char *key, struct afgw_str s, bool present)
{
	afgw_json_key(b, key);
	if (present && s.p)
		afgw_json_str_unfold(b, s.p, s.len);
	else
		afgw_json_null(b);
}

static void number(struct afgw_jbuf *b, const char *key, const struct afgw_number *n, bool has)
{
	afgw_json_key(b, key);
	if (has && n->kind != AFGW_NUMBER_EMPTY)
		afgw_json_str(b, n->canon, n->len);
	else
		afgw_json_null(b);
}

void afgw_event_json_fields(struct afgw_jbuf *b, const struct afgw_event *ev)
{
	char ts[40];
	afgw_rfc3339_us(ev->ts_us, ts, sizeof(ts));
	afgw_json_key(b, "ts");
	afgw_json_cstr(b, ts);
	afgw_json_key(b, "proto");
	afgw_json_cstr(b, ev->proto == AFGW_PROTO_SIP ? "sip" : "smpp");
	afgw_json_key(b, "transport");
	afgw_json_cstr(b, ev->tcp ? "tcp" : "udp");
	char addr[AFGW_ADDR_TEXT];
	afgw_json_key(b, "src");
	afgw_json_str(b, addr, afgw_ip_format(&ev->src_ip, ev->src_port, addr, sizeof(addr)));
	afgw_json_key(b, "dst");
	afgw_json_str(b, addr, afgw_ip_format(&ev->dst_ip, ev->dst_port, addr, sizeof(addr)));
	afgw_json_key(b, "valid");
	afgw_json_bool(b, ev->valid);
	afgw_json_key(b, "anomalies");
	afgw_json_arr_begin(b);
	for (unsigned i = 0; i < ev->n_anomalies; i++)
		afgw_json_cstr(b, ev->anomalies[i]);
	afgw_json_arr_end(b);

	const struct afgw_sip_msg *m = ev->sip;
	if (m) {
		if (m->is_request) {
			afgw_json_key(b, "method");
			afgw_json_str(b, m->method.p, m->method.len);
		} else {
			afgw_json_key(b, "status");
			afgw_json_int(b, m->status);
		}
		str_or_null(b, "call_id", m->call_id, true);
		afgw_json_key(b, "cseq");
		afgw_json_uint(b, m->cseq);
		str_or_null(b, "ruri", m->ruri, m->is_request);
		number(b, "from", &ev->from, ev->has_from);
		str_or_null(b, "from_uri", m->from.uri, m->from.present);
		str_or_null(b, "from_raw", ev->from_raw, ev->has_from);
		number(b, "to", &ev->to, ev->has_to);
		str_or_null(b, "to_uri", m->to.uri, m->to.present);
		str_or_null(b, "to_raw", ev->to_raw, ev->has_to);
		number(b, "pai", &ev->pai, ev->has_pai);
		str_or_null(b, "user_agent", m->user_agent, true);
	} else {
		number(b, "from", &ev->from, ev->has_from);
		str_or_null(b, "from_raw", ev->from_raw, ev->has_from);
		number(b, "to", &ev->to, ev->has_to);
		str_or_null(b, "to_raw", ev->to_raw, ev->has_to);
	}
	if (ev->is_sms) {
		afgw_json_key(b, "op");
		afgw_json_cstr(b, ev->op);
		afgw_json_key(b, "data_coding");
		if (ev->data_coding >= 0)
			afgw_json_int(b, ev->data_coding);
		else
			afgw_json_null(b);
		afgw_json_key(b, "text");
		if (ev->binary || !ev->text)
			afgw_json_null(b);
		else
			afgw_json_str(b, ev->text, ev->text_len);
		afgw_json_key(b, "parts");
		afgw_json_uint(b, ev->parts);
		if (ev->binary) {
			afgw_json_key(b, "binary");
			afgw_json_bool(b, true);
		}
	}
}
