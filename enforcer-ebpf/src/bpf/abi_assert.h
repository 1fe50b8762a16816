/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Compile-time layout checks of the structs shared with user space. Each struct's size (and the
 * offsets user space relies on) is stated once here in C and once in its Rust mirror
 * (src/abi.rs, src/enforce_abi.rs, `const _: () = assert!(...)`); a Rust test reads the
 * ABI_SIZE/ABI_OFFSET lines of palisade.h and enforce.h and checks the two lists name the same
 * structs with the same numbers. So a field added on one side only fails the build, never a
 * running kernel. Keep each check on one line: the test parses them.
 */
#ifndef PALISADE_ABI_ASSERT_H
#define PALISADE_ABI_ASSERT_H

#define ABI_SIZE(type, n) \
	_Static_assert(sizeof(struct type) == (n), "struct " #type ": size differs from its Rust mirror")
#define ABI_OFFSET(type, field, n)                                  \
	_Static_assert(__builtin_offsetof(struct type, field) == (n), \
		       "struct " #type "." #field ": offset differs from its Rust mirror")

#endif
