/*
 * Model of a thief emptying a live handle's cache record against the handle taking and
 * putting blocks (src/heap/fast.h sk_cache_get and sk_cache_keep, cache.c sweep_records),
 * BARRIER_H7.
 *
 * One entry of the record. The holder's copy says block 1 is cached; it takes it (busy = 1,
 * look at steal, check that the entry still names block 1, clear it, busy = 0) and then puts
 * block 2 (a plain store into an empty entry). The thief, twice: claims the record (CAS of
 * steal), looks at busy, and only if the holder is not in a take exchanges the entry for 0
 * and frees what it got. Each statement is one atomic step; the model is sequentially
 * consistent, as the membarrier makes the pair (sys/fence.c).
 *
 * Checked: no block is both used by the holder and freed by the thief; at the end each block
 * is in exactly one place (used, freed, or still in the entry).
 *
 * Broken variants, which spin must catch: -DBROKEN_ORDER, the holder looks at steal before it
 * sets busy; -DBROKEN_NOBUSY, the thief does not look at busy; -DBROKEN_NOCHECK, the holder
 * trusts its copy instead of checking that the entry still names the block.
 */
byte entry = 1;    /* the record's entry: a block, 0 = none */
bit busy = 0;
bit steal = 0;
byte used = 0;     /* the block the holder handed out, 0 = none */
byte freed1 = 0, freed2 = 0; /* blocks the thief freed */
bit held_done = 0, thief_done = 0;

active proctype holder()
{
	byte seen;
	/* take block 1 */
#ifdef BROKEN_ORDER
	if
	:: steal == 0 ->
		busy = 1;
#else
	busy = 1;
	if
	:: steal == 0 ->
#endif
#ifdef BROKEN_NOCHECK
		seen = 1;
#else
		seen = entry;
#endif
		if
		:: seen == 1 -> entry = 0; used = 1
		:: else -> skip /* taken: allocate the ordinary way */
		fi
	:: else -> skip /* a thief is in: allocate the ordinary way */
	fi;
	busy = 0;
	/* put block 2 into an empty entry (no BARRIER_H7) */
	if
	:: entry == 0 -> entry = 2
	:: else -> skip
	fi;
	held_done = 1
}

active proctype thief()
{
	byte got, round = 0;
	do
	:: round < 2 ->
		atomic { steal == 0 -> steal = 1 };
#ifdef BROKEN_NOBUSY
		if
		:: true ->
#else
		if
		:: busy == 0 ->
#endif
			atomic { got = entry; entry = 0 }; /* exchange */
			if
			:: got == 0 -> skip
			:: got != 0 && freed1 == 0 -> freed1 = got
			:: got != 0 && freed1 != 0 -> freed2 = got
			fi
		:: else -> skip
		fi;
		steal = 0;
		round++
	:: else -> break
	od;
	thief_done = 1
}

active proctype monitor()
{
end:
	atomic {
		(held_done && thief_done) ->
		/* a block used by the holder is not also freed by the thief */
		assert(used == 0 || (freed1 != used && freed2 != used));
		/* block 1 is somewhere, once */
		assert((used == 1) + (freed1 == 1) + (freed2 == 1) + (entry == 1) == 1)
	}
}
