/* SPDX-License-Identifier: MIT */
/* Kernel probe: what the running kernel does with rseq (filled in next). */
#include "internal.h"
