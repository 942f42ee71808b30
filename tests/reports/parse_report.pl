#!/usr/bin/perl
# parse_report.pl FILE.xml.gz...: reads DMARC aggregate reports with
# Mail::DMARC's receiving parser (Debian's libmail-dmarc-perl) and prints
# what it understood of each as one JSON object per line, for
# test_reports_build.py.
#
# Mail::DMARC 1.20211209 reads RFC 7489 reports: its XPath has no
# namespace, so the RFC 9990 namespace declaration is taken off first
# (the elements it reads are the same in both). Each value passes through
# its own object model, whose setters refuse what is not valid
# (dispositions, SPF scopes and results, ...): a report it cannot take
# makes this script die (exit status 255).
use strict;
use warnings;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use JSON::PP;
use XML::LibXML;
use Mail::DMARC::Report::Receive;

die "usage: $0 FILE.xml.gz...\n" unless @ARGV;
report($_) for @ARGV;

sub report {
my $path = shift;
my $xml;
gunzip($path => \$xml) or die "gunzip: $GunzipError\n";
my $ns = 'xmlns="urn:ietf:params:xml:ns:dmarc-2.0"';
my $n = ($xml =~ s/ \Q$ns\E//);
die "no RFC 9990 namespace declaration\n" unless $n == 1;

my $recv = Mail::DMARC::Report::Receive->new;
my $dom = XML::LibXML->load_xml(string => $xml);
$recv->do_node_report_metadata($dom->findnodes('/feedback/report_metadata'));
$recv->do_node_policy_published($dom->findnodes('/feedback/policy_published'));
$recv->do_node_record($_) for $dom->findnodes('/feedback/record');

my $agg = $recv->report->aggregate;
my $meta = $agg->metadata;
my $pol = $agg->policy_published;
my @records;
for my $r (@{ $agg->record }) {
    my $pe = $r->row->policy_evaluated;
    push @records, {
        source_ip => $r->row->source_ip, count => 0 + $r->row->count,
        disposition => $pe->disposition, dkim => $pe->dkim, spf => $pe->spf,
        reasons => [ map { $_->{type} } @{ $pe->reason || [] } ],
        header_from => $r->identifiers->header_from,
        envelope_from => $r->identifiers->envelope_from,
        auth_dkim => [ map { { domain => $_->{domain}, selector => $_->{selector},
                               result => $_->{result} } } @{ $r->auth_results->dkim || [] } ],
        auth_spf => [ map { { domain => $_->{domain}, scope => $_->{scope},
                              result => $_->{result} } } @{ $r->auth_results->spf || [] } ],
    };
}
print JSON::PP->new->canonical->encode({
    org_name => $meta->org_name, email => $meta->email, report_id => $meta->report_id,
    begin => 0 + $meta->begin, end => 0 + $meta->end,
    domain => $pol->domain, p => $pol->p, sp => $pol->sp, adkim => $pol->adkim, aspf => $pol->aspf,
    records => \@records,
}), "\n";
}
