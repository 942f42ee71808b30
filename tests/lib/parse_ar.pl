#!/usr/bin/perl
# Reads NUL-separated Authentication-Results values on stdin and parses each
# with Mail::AuthenticationResults (Debian libmail-authenticationresults-perl);
# exits 1 naming the first value it rejects.
use strict;
use warnings;
use Mail::AuthenticationResults::Parser;

local $/;
my $in = <STDIN>;
my $n = 0;
for my $v (split /\0/, $in) {
    $n++;
    (my $unfolded = $v) =~ s/\r?\n\t/ /g;
    my $ok = eval { Mail::AuthenticationResults::Parser->new()->parse($unfolded); 1 };
    if (!$ok) {
        print "rejected: $v\n$@\n";
        exit 1;
    }
}
print "parsed $n values\n";
