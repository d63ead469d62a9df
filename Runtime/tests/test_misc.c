#include "test.h"
void test_misc(void) {}
