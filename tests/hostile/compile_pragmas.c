/* Hostile, at compile time: options smuggled in through pragmas and
 * attributes (dump files, plugins, specs) to make the compiler write files
 * or load code of the submission's choosing. The compile must refuse them
 * (warnings) and leave nothing but its output in the box. */
#pragma GCC optimize("-fdump-tree-all", "-fdump-rtl-all", "-fplugin=/box/x.so", "-save-temps")
#pragma GCC push_options
#pragma GCC optimize("O3", "-fdump-ipa-all")

__attribute__((optimize("-fdump-tree-all-graph", "-specs=/box/x.c")))
int f(int x) { return x * 2; }

#pragma GCC pop_options

int main(void) { return f(0); }
