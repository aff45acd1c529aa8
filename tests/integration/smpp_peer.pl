#!/usr/bin/perl
# smpp_peer.pl - SMPP peers for tests/integration/smpp_proxy.py, made of
# Net::SMPP (Debian: libnet-smpp-perl), an SMPP implementation that owes
# nothing to afgw: every PDU these peers send is encoded by Net::SMPP.
#
#   perl smpp_peer.pl smsc --port-file F --log L [--refuse SYSID=STATUS]...
#        [--behave SYSID=slow|stall|drop]... [--deliver SYSID=FILE.json]...
#        [--slow-delay S] [--deliver-delay S] [--max-seconds S]
#   perl smpp_peer.pl esme --port P --bind tx|rx|trx --system-id ID
#        --password PW --out O [--submit FILE.json] [--async] [--interval S]
#        [--wait-deliver N] [--deliver-status N] [--hold S] [--timeout S]
#
# smsc listens on 127.0.0.1 (a port of the kernel's choosing, written to
# --port-file once it listens) and forks a child per connection.  Every
# PDU received is one JSON line in --log:
#     {"conn":N,"cmd":"submit_sm","seq":..,"status":..,"hex":"<whole PDU>",
#      "system_id":"<of the bind>","t":..}
# plus {"conn":N,"cmd":"_accept"}, {"conn":N,"cmd":"_close"} and, for each
# deliver_sm it sends, {"conn":N,"cmd":"_sent_deliver_sm","seq":..,"hex":..}.
# Binds are answered OK, except those of a system_id given with --refuse,
# which get that status.  submit_sm / data_sm / submit_multi get status 0
# and a message_id, except that per (bound) system_id --behave makes them
# "slow" (answered --slow-delay seconds later, each on its own clock),
# "stall" (never answered) or "drop" (the connection closed after the
# first one).  A receiver or transceiver bind of a system_id given with
# --deliver gets the deliver_sm of that JSON file ([{"sender", "recipient",
# "data_coding", "hex" (short_message), "esm_class"?, "tlvs"?}]) after
# --deliver-delay seconds; their deliver_sm_resp are logged like every PDU.
#
# esme connects to 127.0.0.1:P, binds, and writes one JSON line per event
# to --out: {"ev":"sent","cmd":..,"seq":..,"hex":..} for every PDU it
# writes (the exact bytes given to the socket), {"ev":"pdu","cmd":..,
# "seq":..,"status":..,"hex":..,"message_id":..} for every PDU it reads,
# {"ev":"closed","err":..} when the other side closed, {"ev":"timeout"}
# when --timeout ran out first, {"ev":"done"} at the end.  --submit is a
# JSON list of {"sender", "recipient", "data_coding", "hex", "esm_class"?,
# "registered_delivery"?, "tlvs"?: [[name, hex], ...], "nowait"?}; each is
# sent and the responses waited for (not after one marked "nowait": the
# parts of a long message go out back to back), or with --async all are
# sent at once (--interval seconds apart) and the responses collected
# afterwards.  deliver_sm are
# answered (--deliver-status, default 0); with --wait-deliver N the ESME
# waits for N of them.  --hold S: stay bound S seconds more.  Then unbind.
# Exit status 0 unless the arguments are wrong (2) or the connect fails (1).
use strict;
use warnings;
use Errno qw(EINTR EAGAIN EWOULDBLOCK);
use Getopt::Long qw(GetOptionsFromArray);
use IO::Select;
use JSON::PP;
use Net::SMPP;
use POSIX qw(_exit);
use Socket qw(SOL_SOCKET SO_RCVTIMEO SO_SNDTIMEO);
use Time::HiRes qw(time sleep);

# A Net::SMPP that remembers what it writes: Net::SMPP hands each encoded
# PDU to syswrite() in one piece; the bytes are kept, then written in full.
package RecSMPP;
our @ISA = ('Net::SMPP');
sub syswrite {
	my ($me, $buf) = @_;
	${*$me}{rec_last} = $buf;
	my $off = 0;
	my $tries = 0;
	while ($off < length $buf) {
		my $n = CORE::syswrite($me, $buf, length($buf) - $off, $off);
		if (!defined $n) {
			next if $!{EINTR} && ++$tries < 100;
			return undef;
		}
		$off += $n;
	}
	return $off;
}
sub last_written { my $me = shift; return ${*$me}{rec_last} }

package main;

my %CMD = (
	0x80000000 => 'generic_nack', 0x00000001 => 'bind_receiver',
	0x80000001 => 'bind_receiver_resp', 0x00000002 => 'bind_transmitter',
	0x80000002 => 'bind_transmitter_resp', 0x00000003 => 'query_sm',
	0x80000003 => 'query_sm_resp', 0x00000004 => 'submit_sm',
	0x80000004 => 'submit_sm_resp', 0x00000005 => 'deliver_sm',
	0x80000005 => 'deliver_sm_resp', 0x00000006 => 'unbind',
	0x80000006 => 'unbind_resp', 0x00000007 => 'replace_sm',
	0x80000007 => 'replace_sm_resp', 0x00000008 => 'cancel_sm',
	0x80000008 => 'cancel_sm_resp', 0x00000009 => 'bind_transceiver',
	0x80000009 => 'bind_transceiver_resp', 0x0000000b => 'outbind',
	0x00000015 => 'enquire_link', 0x80000015 => 'enquire_link_resp',
	0x00000021 => 'submit_multi', 0x80000021 => 'submit_multi_resp',
	0x00000102 => 'alert_notification', 0x00000103 => 'data_sm',
	0x80000103 => 'data_sm_resp',
);

my $json = JSON::PP->new->canonical(1);
my $T0 = time;

sub cmd_name { my $c = shift; return $CMD{$c} // sprintf('0x%08x', $c) }

# The PDU as it came on the wire: Net::SMPP::read_pdu keeps the header's
# fields and the body, which is all there is (SMPP 3.4 header: 16 bytes).
sub pdu_hex {
	my $pdu = shift;
	return unpack('H*', pack('NNNN', 16 + length($pdu->{data}), $pdu->{cmd},
		$pdu->{status}, $pdu->{seq}) . $pdu->{data});
}

# One JSON line, appended in one write (O_APPEND: lines of several
# processes do not mix).
sub log_line {
	my ($fh, $rec) = @_;
	$rec->{t} = sprintf('%.3f', time - $T0) + 0;
	my $line = $json->encode($rec) . "\n";
	syswrite($fh, $line);
}

sub open_log {
	my $path = shift;
	open(my $fh, '>>', $path) or die "smpp_peer: $path: $!\n";
	return $fh;
}

# Bound every blocking read: a peer that sends half a PDU makes sysread
# fail with EAGAIN after this long instead of hanging the test.
sub socket_timeouts {
	my ($s, $sec) = @_;
	my $tv = pack('l!l!', $sec, 0);
	setsockopt($s, SOL_SOCKET, SO_RCVTIMEO, $tv);
	setsockopt($s, SOL_SOCKET, SO_SNDTIMEO, $tv);
}

sub sm_args {
	my $m = shift;
	my @a = (
		source_addr_ton => $m->{source_addr_ton} // 1,
		source_addr_npi => $m->{source_addr_npi} // 1,
		source_addr => $m->{sender},
		dest_addr_ton => $m->{dest_addr_ton} // 1,
		dest_addr_npi => $m->{dest_addr_npi} // 1,
		destination_addr => $m->{recipient},
		esm_class => $m->{esm_class} // 0,
		registered_delivery => $m->{registered_delivery} // 0,
		data_coding => $m->{data_coding} // 0,
		short_message => pack('H*', $m->{hex} // ''),
	);
	for my $tlv (@{ $m->{tlvs} // [] }) {
		push @a, $tlv->[0], pack('H*', $tlv->[1]);
	}
	return @a;
}

sub read_json_file {
	my $path = shift;
	open(my $fh, '<', $path) or die "smpp_peer: $path: $!\n";
	local $/;
	my $text = <$fh>;
	close $fh;
	return JSON::PP->new->decode($text);
}

# ---- smsc ------------------------------------------------------------------

sub smsc {
	my @argv = @_;
	my (%refuse, %behave, %deliver);
	my %o = (slow_delay => 1.5, deliver_delay => 0.2, max_seconds => 600);
	GetOptionsFromArray(\@argv,
		'port-file=s' => \$o{port_file}, 'log=s' => \$o{log},
		'refuse=s' => \%refuse, 'behave=s' => \%behave, 'deliver=s' => \%deliver,
		'slow-delay=f' => \$o{slow_delay}, 'deliver-delay=f' => \$o{deliver_delay},
		'max-seconds=f' => \$o{max_seconds})
		or exit 2;
	die "smpp_peer smsc: --port-file and --log are required\n"
		unless $o{port_file} && $o{log};
	my %scripts = map { $_ => read_json_file($deliver{$_}) } keys %deliver;
	$o{refuse} = { map { $_ => ($refuse{$_} =~ /^0x/i ? hex $refuse{$_} : $refuse{$_} + 0) }
		keys %refuse };
	$o{behave} = \%behave;
	$o{scripts} = \%scripts;

	my $l = RecSMPP->new_listen('127.0.0.1', port => 0, listen => 4096, timeout => 1)
		or die "smpp_peer smsc: listen: $!\n";
	my $tmp = "$o{port_file}.tmp";
	open(my $pf, '>', $tmp) or die "smpp_peer: $tmp: $!\n";
	print $pf $l->sockport, "\n";
	close $pf;
	rename $tmp, $o{port_file} or die "smpp_peer: $o{port_file}: $!\n";

	$SIG{CHLD} = 'IGNORE';
	my $stop = 0;
	$SIG{TERM} = $SIG{INT} = sub { $stop = 1 };
	my $conn = 0;
	my $end = time + $o{max_seconds};
	while (!$stop && time < $end) {
		my $c = $l->accept;
		next unless $c;
		$conn++;
		my $pid = fork;
		if (!defined $pid) {
			close $c;
			next;
		}
		if ($pid == 0) {
			$SIG{TERM} = $SIG{INT} = 'DEFAULT';
			close $l;
			smsc_conn($c, $conn, \%o);
			_exit(0);
		}
		close $c;
	}
	# the children are in our process group: the driver ends them with it
	exit 0;
}

# One connection, one child: a select loop with a queue of responses due
# later ("slow") and of deliver_sm to send.
sub smsc_conn {
	my ($c, $conn, $o) = @_;
	my $log = open_log($o->{log});
	socket_timeouts($c, 5);
	my $sel = IO::Select->new($c);
	my ($system_id, $mode, $n_msg) = ('', '', 0);
	my @due;                 # [time, code]
	log_line($log, { conn => $conn, cmd => '_accept' });
	my $end = time + $o->{max_seconds};
	while (time < $end) {
		@due = sort { $a->[0] <=> $b->[0] } @due;
		while (@due && $due[0][0] <= time) {
			my $d = shift @due;
			$d->[1]->();
		}
		my $wait = @due ? $due[0][0] - time : 1;
		$wait = 0 if $wait < 0;
		$wait = 1 if $wait > 1;
		next unless $sel->can_read($wait);
		my $pdu = $c->read_pdu;
		if (!$pdu) {
			log_line($log, { conn => $conn, cmd => '_close', system_id => $system_id,
				err => ${*$c}{smpperror} // '' });
			last;
		}
		my $name = cmd_name($pdu->{cmd});
		my $rec = { conn => $conn, cmd => $name, seq => $pdu->{seq},
			status => $pdu->{status}, hex => pdu_hex($pdu), system_id => $system_id };
		if ($name =~ /^bind_(receiver|transmitter|transceiver)$/) {
			my $kind = $1;
			$rec->{system_id} = $pdu->{system_id};
			$rec->{password} = $pdu->{password};
			$rec->{system_type} = $pdu->{system_type};
			log_line($log, $rec);
			my $st = $o->{refuse}{ $pdu->{system_id} } // 0;
			my $resp = "bind_${kind}_resp";
			$c->$resp(seq => $pdu->{seq}, status => $st, system_id => 'NETSMPP-SMSC');
			next if $st;
			($system_id, $mode) = ($pdu->{system_id}, $kind);
			my $script = $o->{scripts}{$system_id};
			if ($script && $kind ne 'transmitter') {
				my $at = time + $o->{deliver_delay};
				for my $m (@$script) {
					push @due, [ $at, sub {
						my $seq = $c->deliver_sm(sm_args($m), async => 1);
						log_line($log, { conn => $conn, cmd => '_sent_deliver_sm',
							seq => $seq, hex => unpack('H*', $c->last_written),
							system_id => $system_id });
					} ];
					$at += 0.05;
				}
			}
			next;
		}
		log_line($log, $rec);
		if ($name eq 'submit_sm' || $name eq 'data_sm' || $name eq 'submit_multi') {
			my $how = $o->{behave}{$system_id} // '';
			$n_msg++;
			if ($how eq 'drop') {
				log_line($log, { conn => $conn, cmd => '_drop', system_id => $system_id });
				last;
			}
			next if $how eq 'stall';
			my $seq = $pdu->{seq};
			my $id = sprintf('M%d-%d', $conn, $n_msg);
			my $resp = $name eq 'data_sm' ? sub { $c->data_sm_resp(seq => $seq, message_id => $id) }
				: $name eq 'submit_multi' ? sub { $c->submit_multi_resp(seq => $seq,
					message_id => $id, error_status_code => [0], destination_addr => []) }
				: sub { $c->submit_sm_resp(seq => $seq, message_id => $id) };
			if ($how eq 'slow') {
				push @due, [ time + $o->{slow_delay}, $resp ];
			} else {
				$resp->();
			}
		} elsif ($name eq 'enquire_link') {
			$c->enquire_link_resp(seq => $pdu->{seq});
		} elsif ($name eq 'unbind') {
			$c->unbind_resp(seq => $pdu->{seq});
			# the ESME closes after unbind_resp; read on until it does
		} elsif (!($pdu->{cmd} & 0x80000000)) {
			$c->generic_nack(seq => $pdu->{seq}, status => 0x03);
		}
	}
	close $c;
}

# ---- esme ------------------------------------------------------------------

sub esme {
	my @argv = @_;
	my %o = (host => '127.0.0.1', bind => 'trx', password => '', timeout => 30,
		interval => 0, wait_deliver => 0, deliver_status => 0, hold => 0,
		system_type => '');
	GetOptionsFromArray(\@argv,
		'host=s' => \$o{host}, 'port=i' => \$o{port}, 'bind=s' => \$o{bind},
		'system-id=s' => \$o{system_id}, 'password=s' => \$o{password},
		'system-type=s' => \$o{system_type}, 'out=s' => \$o{out},
		'submit=s' => \$o{submit}, 'async' => \$o{async}, 'interval=f' => \$o{interval},
		'wait-deliver=i' => \$o{wait_deliver}, 'deliver-status=s' => \$o{deliver_status},
		'hold=f' => \$o{hold}, 'timeout=f' => \$o{timeout})
		or exit 2;
	die "smpp_peer esme: --port, --system-id and --out are required\n"
		unless $o{port} && defined $o{system_id} && $o{out};
	my %bind = (tx => 'bind_transmitter', rx => 'bind_receiver', trx => 'bind_transceiver');
	my $bind = $bind{ $o{bind} } or die "smpp_peer esme: --bind tx|rx|trx\n";
	my $dstatus = $o{deliver_status} =~ /^0x/i ? hex $o{deliver_status} : $o{deliver_status} + 0;
	my $msgs = $o{submit} ? read_json_file($o{submit}) : [];

	my $out = open_log($o{out});
	my $end = time + $o{timeout};
	my $c = RecSMPP->new_connect($o{host}, port => $o{port}, timeout => 5, async => 1);
	if (!$c) {
		log_line($out, { ev => 'connect_failed', err => "$!" });
		exit 1;
	}
	socket_timeouts($c, 5);
	my $sel = IO::Select->new($c);
	my $closed = 0;
	my %resp;                 # seq -> response PDU (requests we sent)
	my $delivers = 0;

	my $sent = sub {
		my ($cmd, $seq) = @_;
		log_line($out, { ev => 'sent', cmd => $cmd, seq => $seq,
			hex => unpack('H*', $c->last_written) });
	};
	# Read and handle one PDU if one comes within $wait seconds.
	my $pump = sub {
		my $wait = shift;
		return 0 if $closed;
		$wait = 0 if $wait < 0;
		return 0 unless $sel->can_read($wait);
		my $pdu = $c->read_pdu;
		if (!$pdu) {
			log_line($out, { ev => 'closed', err => ${*$c}{smpperror} // '' });
			$closed = 1;
			return 0;
		}
		my $name = cmd_name($pdu->{cmd});
		log_line($out, { ev => 'pdu', cmd => $name, seq => $pdu->{seq},
			status => $pdu->{status}, hex => pdu_hex($pdu),
			message_id => $pdu->{message_id} });
		if ($pdu->{cmd} & 0x80000000) {
			$resp{ $pdu->{seq} } = $pdu;
		} elsif ($name eq 'deliver_sm') {
			$delivers++;
			$c->deliver_sm_resp(seq => $pdu->{seq}, status => $dstatus, message_id => '');
			$sent->('deliver_sm_resp', $pdu->{seq});
		} elsif ($name eq 'data_sm') {
			$c->data_sm_resp(seq => $pdu->{seq}, status => $dstatus, message_id => '');
			$sent->('data_sm_resp', $pdu->{seq});
		} elsif ($name eq 'enquire_link') {
			$c->enquire_link_resp(seq => $pdu->{seq});
			$sent->('enquire_link_resp', $pdu->{seq});
		} elsif ($name eq 'unbind') {
			$c->unbind_resp(seq => $pdu->{seq});
			$sent->('unbind_resp', $pdu->{seq});
		} else {
			$c->generic_nack(seq => $pdu->{seq}, status => 0x03);
			$sent->('generic_nack', $pdu->{seq});
		}
		return 1;
	};
	my $wait_for = sub {
		my $seq = shift;
		$pump->($end - time) while !$closed && !$resp{$seq} && time < $end;
		return $resp{$seq};
	};

	my $bseq = $c->$bind(system_id => $o{system_id}, password => $o{password},
		system_type => $o{system_type}, async => 1);
	$sent->($bind, $bseq);
	my $br = $wait_for->($bseq);
	if ($br && $br->{status} == 0) {
		my @seqs;
		for my $m (@$msgs) {
			last if $closed;
			my $seq = $c->submit_sm(sm_args($m), async => 1);
			$sent->('submit_sm', $seq);
			push @seqs, $seq;
			if (!$o{async}) {
				# parts of a long message go back to back ("nowait"), the
				# last one waits for all of them
				next if $m->{nowait};
				$pump->($end - time) while !$closed && time < $end && grep { !$resp{$_} } @seqs;
			} elsif ($o{interval} > 0) {
				my $next = time + $o{interval};
				$pump->($next - time) while !$closed && time < $next;
			}
		}
		$pump->($end - time) while !$closed && time < $end && grep { !$resp{$_} } @seqs;
		$pump->($end - time) while !$closed && time < $end && $delivers < $o{wait_deliver};
		my $hold = time + $o{hold};
		$hold = $end if $hold > $end;
		$pump->($hold - time) while !$closed && time < $hold;
		if (!$closed && time < $end) {
			my $useq = $c->unbind(async => 1);
			$sent->('unbind', $useq);
			my $uend = time + 3;
			$pump->($uend - time) while !$closed && !$resp{$useq} && time < $uend;
		}
	}
	log_line($out, { ev => 'timeout' }) if !$closed && time >= $end;
	close $c;
	log_line($out, { ev => 'done' });
	exit 0;
}

my $what = shift @ARGV // '';
if ($what eq 'smsc') {
	smsc(@ARGV);
} elsif ($what eq 'esme') {
	esme(@ARGV);
} else {
	print STDERR "usage: smpp_peer.pl smsc|esme OPTIONS (see the top of the file)\n";
	exit 2;
}
