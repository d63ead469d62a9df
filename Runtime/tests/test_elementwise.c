#include "test.h"
void test_elementwise(void) {}
