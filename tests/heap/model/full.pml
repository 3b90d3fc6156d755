/*
 * Model of a run found full against a free into it (src/heap/run.c mark_full, fast.h
 * sk_small_free, run.c after_free), BARRIER_H5.
 *
 * The run has one slot, taken. The refiller, holding the arena lock, marks the run FULL and
 * then looks at the bitmap again: a free slot keeps the run current. The freer clears the
 * bit with one RMW, then reads the run state: FULL sends it to the arena lock, where it puts
 * the run on the partial list if it is still FULL. Each statement is one atomic step.
 *
 * Checked (end state): the slot is not free in a run that is on no list.
 *
 * Broken variant, which spin must catch: -DBROKEN_ORDER, the refiller looks at the bitmap
 * before marking the run FULL.
 */
#define CURRENT 1
#define FULL    2
#define PARTIAL 3

byte sub = CURRENT;
bit slot = 1;
bit locked = 0;
bit refilled = 0, freed = 0; /* each process has finished */

active proctype refiller()
{
	bit seen;
	atomic { locked == 0 -> locked = 1 };
#ifdef BROKEN_ORDER
	seen = slot;
	sub = FULL;
#else
	sub = FULL;
	seen = slot; /* the rescan */
#endif
	if
	:: seen == 0 -> sub = CURRENT /* a free arrived: keep allocating from it */
	:: else -> skip               /* full: current no more, on no list */
	fi;
	locked = 0;
	refilled = 1
}

active proctype freer()
{
	slot = 0; /* fetch_and */
	if
	:: sub == FULL ->
		atomic { locked == 0 -> locked = 1 };
		if
		:: sub == FULL -> sub = PARTIAL
		:: else -> skip
		fi;
		locked = 0
	:: else -> skip
	fi;
	freed = 1
}

active proctype monitor()
{
end: /* waiting here forever is fine */
	/* Once both are done, a free slot must not be stranded in a FULL run. */
	atomic { (refilled && freed) -> assert(!(sub == FULL && slot == 0)) }
}
