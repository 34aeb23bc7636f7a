/* SPDX-License-Identifier: BSD-2-Clause */
#include "benchlib.h"

int main(int argc, char **argv)
{
	return b_thp_main(argc, argv);
}
