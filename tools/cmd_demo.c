#include <cow.h>
#include <stdio.h>
#include "cow_tool.h"

int cow_cmd_demo(int argc, char **argv)
{
	printf("libcow backend: %s\n", cow_strerror(0));
	return COW_EXIT_OK;
}
