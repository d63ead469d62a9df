#include "test.h"
void test_layout(void) {}
