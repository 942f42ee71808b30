"""bench/insns.py prints a table only for what it measured: with
--no-callgrind no instructions table (not even its header), and the
tables it did measure as before. Runs the real script with the null
filter (bench/nullfilter, built here), a corpus of a few messages and
strace, which counts system calls natively; no figure is judged (the
benchmark's numbers are make bench's business), only what is printed.
    /usr/bin/python3 test_insns.py BUILDDIR
"""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import case, check, contains, run, skip   # noqa: E402
import evidence                                       # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
INSNS = os.path.join(HERE, "..", "..", "bench", "insns.py")
BENCH = os.path.join(HERE, "..", "..", "bench", "bench.py")
INSNS_TABLE = "instructions per message"


def setup():
    # the load generator and the null filter are not built by make check
    p = subprocess.run(["make", "-C", BUILD, "-s", "bench/miltergen", "bench/nullfilter"],
                       capture_output=True, text=True)
    check(p.returncode == 0, "building bench/miltergen and bench/nullfilter:\n" + p.stdout + p.stderr)


def insns(*flags):
    p = evidence.run(["/usr/bin/python3", INSNS, "--builddir", BUILD, "--filters", "null",
                      "--corpus", "8", "--messages", "8", "--no-events"] + list(flags),
                     text=True, timeout=300, what="insns.py " + " ".join(flags))
    return p.stdout


@case
def nothing_measured_nothing_printed():
    out = insns("--no-callgrind", "--no-syscalls")
    check(out.strip() == "", "tables printed with nothing measured:\n" + out)


@case
def syscalls_without_callgrind():
    if shutil.which("strace") is None:
        skip("strace is not installed")
    out = insns("--no-callgrind")
    check(INSNS_TABLE not in out, "an instructions table with --no-callgrind:\n" + out)
    contains(out, "system calls per message", "the system call table")
    check(any(line.startswith("null ") for line in out.splitlines()),
          "the null filter's row:\n" + out)


@case
def make_bench_instructions_part():
    """make bench's third part (bench.py --modes instructions) drives
    insns.py's functions with options of its own making: it must print
    the same tables (it once died at the report on an option it lacked)."""
    if shutil.which("strace") is None or shutil.which("valgrind") is None:
        skip("strace or valgrind is not installed")
    p = evidence.run(["/usr/bin/python3", BENCH, "--builddir", BUILD, "--modes", "instructions",
                      "--filters", "null", "--insn-filters", "null", "--messages", "20",
                      "--insn-messages", "8"], text=True, timeout=300, what="bench.py --modes instructions")
    contains(p.stdout, INSNS_TABLE, "the instructions table")
    contains(p.stdout, "system calls per message", "the system call table")
    contains(p.stdout, "instructions per body byte", "the body byte table")


if __name__ == "__main__":
    sys.exit(run("bench-insns", setup))
