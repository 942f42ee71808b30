#!/usr/bin/perl
# Reads NUL-separated Authentication-Results values on stdin and prints,
# one line per value, the authserv-id Mail::AuthenticationResults (Debian
# libmail-authenticationresults-perl) reads from it, hex-encoded, or "-"
# when it rejects the value: the attacks tests ask it what a lenient
# consumer takes for the field's author.
use strict;
use warnings;
use Mail::AuthenticationResults::Parser;

local $/;
my $in = <STDIN>;
for my $v (split /\0/, $in, -1) {
    (my $unfolded = $v) =~ s/\r?\n([ \t])/$1/g;
    my $id = eval { Mail::AuthenticationResults::Parser->new()->parse($unfolded)->value()->value() };
    print defined $id ? unpack("H*", $id) : "-", "\n";
}
