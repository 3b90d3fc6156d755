/*
 * Model of a run's bitmap and tag (src/heap/fast.h, src/heap/run.c), BARRIER_H4: allocators
 * that take slots without a lock, and the arena-lock holder that retires the run when it
 * looks empty and makes the page a run of another class.
 *
 * The run has slots 0 and 1 (bits 0 and 1) and a tail bit (2) that is no slot. Allocators
 * read the tag once (possibly long before the rest: a late allocator), set a bit with one
 * RMW, re-read the tag, and give the bit back unless the run is the one they read. The
 * retirer marks the run RETIRING, reads the bitmap, and either puts the state back (a bit is
 * set) or clears the tail bit, frees the page, ORs in the new class's tail bit and publishes
 * the new run. Each statement is one atomic step; spin explores every interleaving, which
 * is what the seq_cst operations of BARRIER_H4 provide.
 *
 * Checked: no slot is owned twice; an owned slot's bit stays set (so nobody else can take
 * it, and the run cannot be retired under it); an allocation is a slot of the run the
 * allocator read, of its class.
 *
 * Broken variants, which spin must catch (check.sh builds them):
 *  -DBROKEN_INIT       the new run's bitmap is stored instead of ORed: a late allocator's
 *                      undo then clears a bit the new run's owner holds
 *  -DBROKEN_NO_RECHECK the allocator does not re-read the tag after taking its bit
 *  -DBROKEN_ORDER      the retirer reads the bitmap before marking the run RETIRING
 */
#define RUN      1
#define RETIRING 2
#define FREE     3
#define CLASS_A  1
#define CLASS_B  2

/* The tag: kind, class and generation, read and written as one word. */
byte kind = RUN;
byte cls = CLASS_A;
byte gen = 1;

bit bits[3] = 0;
byte owner[2];    /* pid + 1 of the owner of slot i, 0 = free */
byte owner_gen[2]; /* the generation of the run it was taken in */

inline allocate(mine) {
	byte k0, c0, g0, s;
	bit old;
	atomic { k0 = kind; c0 = cls; g0 = gen }; /* the tag, read once */
	if
	:: k0 != RUN || c0 != mine -> goto done /* not a current run of ours: slow path */
	:: else -> skip
	fi;
	if
	:: s = 0
	:: s = 1
	fi;
	atomic { old = bits[s]; bits[s] = 1 }; /* fetch_or */
	if
	:: old == 1 -> goto done /* taken by someone else */
	:: else -> skip
	fi;
	/* The re-read of the tag decides: the slot is ours, or the bit goes back. */
	if
#ifdef BROKEN_NO_RECHECK
	:: atomic {
		true -> assert(cls == mine && gen == g0);
		assert(owner[s] == 0);
		owner[s] = _pid + 1;
		owner_gen[s] = g0
	}
#else
	:: atomic {
		kind == k0 && cls == c0 && gen == g0 -> assert(owner[s] == 0);
		owner[s] = _pid + 1;
		owner_gen[s] = g0
	}
#endif
	:: else -> bits[s] = 0 /* fetch_and: the undo */
	fi;
done:
	skip
}

active [2] proctype alloc_a()
{
	allocate(CLASS_A)
}

active proctype alloc_b()
{
	allocate(CLASS_B)
}

active proctype retirer()
{
	bit looks_empty;
#ifdef BROKEN_ORDER
	looks_empty = bits[0] == 0 && bits[1] == 0;
	kind = RETIRING;
#else
	kind = RETIRING;
	looks_empty = bits[0] == 0 && bits[1] == 0; /* one load of the bitmap word */
#endif
	if
	:: !looks_empty -> kind = RUN /* in use after all */
	:: else ->
		bits[2] = 0; /* the old class's tail, ANDed out */
		atomic { kind = FREE; gen++ };
#ifdef BROKEN_INIT
		atomic { bits[0] = 0; bits[1] = 0; bits[2] = 1 };
#else
		bits[2] = 1; /* the new class's tail, ORed in */
#endif
		atomic { kind = RUN; cls = CLASS_B; gen++ }
	fi
}

/* At every step: an owned slot's bit is set, and its run was not retired under it. */
#define LOST(i) (owner[i] != 0 && (bits[i] == 0 || gen != owner_gen[i]))
active proctype monitor()
{
end: /* waiting here forever is fine */
	atomic { LOST(0) || LOST(1) -> assert(false) }
}
