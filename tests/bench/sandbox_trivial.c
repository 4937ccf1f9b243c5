/* The benchmark's trivial program: the cost of a run is all overhead. */
int main(void) { return 0; }
