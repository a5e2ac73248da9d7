/* The library missing_dep.c links to, kept where the loader cannot find it. */
int ie_test_dep_answer(void);
int ie_test_dep_answer(void) { return 42; }
