#!/usr/bin/env python3
"""Writes the seed corpus of the model fuzz target (tests/fuzz/corpus/seed-*), small inputs that
spell out the operations model_fuzz.cpp decodes, so that fuzzing starts from meaningful
sequences. Run it again after changing the encoding; inputs saved from failures (crash-*) stay.

The encoding (model_fuzz.cpp, LLVMFuzzerTestOneInput), one step after another:
  reserve   0, form, slot, size mode, count, where, alignment mode, option bits, access
  commit    1, form, address mode, offset, size mode, count, access   (form & 4: prefault)
  decommit  2, ... as commit; protect 3; discard 4; guard 5; write 9 (the last byte: the fill)
  release   6, form, address mode, offset
  adopt     7, form, address mode, offset                            (form & 2: detach)
  check     8, form                                                  (every page, all probes)
  armed    11, form, kind, error, how, then a range step's address mode, offset, size mode,
             count, access: arms vmem's failure seam for kind (0 commit, 1 decommit, 2 protect,
             3 discard, 4 guard; form & 4: a prefaulting commit) with an OS error (0 EAGAIN,
             1 EIO, 2 EACCES, 3 EPERM), mode how & 1 (after_part, else before) and skip
             (how >> 1) % 3, runs that operation skip + 1 times, then disarms
form: bit 0 the throwing overload, bit 1 vmem::reservation (reserve: an owner; ranges: members).
address mode = slot + 3 * kind, kind 0 a page boundary, 1 inside a page, 2 null, 3 a released
base, 4 before the reservation, 5 the top of the address space, 6 not a reservation, 7 a page.
size mode 0 count pages, 1 not whole pages, 2 zero, 3 SIZE_MAX, 4 wraps, 5 to the end, 6 a page
past the end, 7 a few bytes; count 0 is one page. access 0 none, 1 read, 2 read_write,
3 read_execute, 4 read_write_execute, 5 and 6 invalid.
"""
import os

RAW, THROW, OWNED = 0, 1, 2
NONE, READ, RW, RX, RWX, BAD = 0, 1, 2, 3, 4, 5


def reserve(slot, pages, form=RAW, where=0, align=0, bits=0, acc=RW, size_mode=0):
    return [0, form, slot, size_mode, pages - 1, where, align, bits, acc]


def rng(op, slot, page, pages, acc=RW, form=RAW, kind=0, size_mode=0):
    return [op, form, slot + 3 * kind, page, size_mode, pages - 1, acc]


def commit(*a, **k): return rng(1, *a, **k)
def decommit(*a, **k): return rng(2, *a, **k)
def protect(*a, **k): return rng(3, *a, **k)
def discard(*a, **k): return rng(4, *a, **k)
def guard(*a, **k): return rng(5, *a, **k)
def write(slot, page, pages, fill, **k): return rng(9, slot, page, pages, acc=fill, **k)
def release(slot, form=RAW, kind=0, offset=0): return [6, form, slot + 3 * kind, offset]
def adopt(slot, kind=0, offset=0): return [7, RAW, slot + 3 * kind, offset]
def detach(slot): return [7, OWNED, slot, 0]
def check(): return [8, 0]


COMMIT, DECOMMIT, PROTECT, DISCARD, GUARD = range(5)
BEFORE, AFTER_PART = 0, 1


def armed(kind, slot, page, pages, mode=BEFORE, skip=0, error=0, acc=RW, form=RAW, kind_=0,
          size_mode=0):
    return [11, form, kind, error, mode | (skip << 1), slot + 3 * kind_, page, size_mode,
            pages - 1, acc]


seeds = {
    # Commit, write, decommit part, commit again: the decommitted pages read zero.
    "decommit_zero_fills": reserve(0, 16) + commit(0, 0, 8) + write(0, 0, 8, 0x5A)
    + decommit(0, 2, 2) + commit(0, 0, 8) + check(),
    # Access changes keep the contents.
    "protect_keeps_contents": reserve(0, 8, form=OWNED) + commit(0, 0, 8, form=OWNED)
    + write(0, 0, 8, 0x33) + protect(0, 0, 4, acc=READ) + protect(0, 2, 4, acc=NONE)
    + protect(0, 0, 8, acc=RW) + check(),
    # A guard refuses commit, protect and discard; decommit undoes it.
    "guard_pages": reserve(1, 12, form=OWNED) + commit(1, 0, 12, form=OWNED)
    + write(1, 0, 12, 0x77) + guard(1, 4, 2, form=OWNED) + commit(1, 3, 3)
    + protect(1, 5, 1, acc=READ) + discard(1, 0, 12) + decommit(1, 4, 2) + commit(1, 4, 2) + check(),
    # Discard of committed pages, and of a range holding reserved ones.
    "discard": reserve(2, 8, bits=1) + write(2, 0, 8, 0x11) + discard(2, 1, 3)
    + decommit(2, 6, 1) + discard(2, 4, 4) + check(),
    # Bad input: null, zero size, wrap, the top, a released base, memory that is not vmem's.
    "bad_input": reserve(0, 4) + commit(0, 0, 1, kind=2) + commit(0, 0, 1, size_mode=2)
    + commit(0, 0, 1, size_mode=3) + decommit(0, 0, 1, kind=5) + commit(0, 0, 1, acc=BAD)
    + protect(0, 0, 1, kind=6) + release(0) + commit(0, 0, 1, kind=3) + release(0, kind=3),
    # Ranges off the end, into a neighbour, members outside their reservation.
    "off_the_end": reserve(0, 4, form=OWNED) + reserve(1, 4) + commit(0, 2, 1, size_mode=6)
    + commit(0, 0, 1, size_mode=5, form=OWNED) + decommit(0, 0, 1, form=OWNED, kind=4)
    + protect(1, 0, 1, form=OWNED) + commit(1, 3, 1, size_mode=1),
    # Release: owned, interior, twice; adopt and detach.
    "ownership": reserve(0, 4, form=OWNED) + release(0) + release(0, kind=7, offset=1)
    + detach(0) + release(0, form=OWNED) + adopt(0) + adopt(0) + release(0, form=OWNED)
    + release(0, form=OWNED | THROW),
    # Reserve options: exact at a released base, prefer over a live one, alignments, bad values.
    "reserve_options": reserve(0, 8) + release(0) + reserve(1, 8, where=2, align=2)
    + reserve(2, 4, where=5 + 8, align=3) + reserve(0, 2, where=4 + 8)
    + reserve(0, 2, where=6, align=4) + reserve(0, 2, align=5) + reserve(0, 2, bits=2)
    + reserve(0, 2, bits=4 << 2) + reserve(0, 2, where=7) + reserve(0, 2, size_mode=3)
    + reserve(0, 3, bits=1 | 2 | (1 << 5), acc=READ) + check(),
    # The throwing overloads, right and wrong.
    "throwing": reserve(0, 6, form=OWNED | THROW) + commit(0, 0, 6, form=OWNED | THROW)
    + commit(0, 0, 1, form=THROW, kind=2) + protect(0, 0, 7, form=OWNED | THROW)
    + guard(0, 1, 1, form=THROW) + discard(0, 0, 2, form=THROW) + release(0, form=THROW),
    # Prefault, execute accesses, a commit over committed pages with another access.
    "accesses": reserve(1, 10) + commit(1, 0, 10, acc=RX, form=4) + commit(1, 2, 3, acc=RWX)
    + write(1, 0, 10, 0x42) + commit(1, 0, 4, acc=RW) + protect(1, 1, 8, acc=READ) + check(),
    # The failure seam: each kind refused before and after part, with skips; the model says
    # nothing changes (but contents let go), a guard succeeds by its fallback.
    "failure_seam": reserve(0, 16) + commit(0, 0, 12) + write(0, 0, 12, 0x3C)
    + guard(0, 12, 1) + armed(COMMIT, 0, 10, 4, mode=AFTER_PART, acc=READ)
    + armed(COMMIT, 0, 0, 6, skip=1, error=1) + armed(PROTECT, 0, 2, 5, mode=AFTER_PART, acc=READ)
    + armed(PROTECT, 0, 0, 3, skip=2, acc=NONE) + armed(DECOMMIT, 0, 11, 4, mode=AFTER_PART)
    + armed(DISCARD, 0, 4, 4, mode=AFTER_PART, error=2) + armed(DISCARD, 0, 0, 2, error=3)
    + armed(GUARD, 0, 2, 3, mode=AFTER_PART) + armed(GUARD, 0, 6, 1, skip=1)
    + armed(COMMIT, 0, 7, 5, mode=AFTER_PART, form=4) + armed(DECOMMIT, 0, 0, 16) + check(),
}

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(here, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(here, "seed-" + name), "wb") as f:
        f.write(bytes(b & 0xFF for b in data))
print(f"{len(seeds)} seeds in {here}")
