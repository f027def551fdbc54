/* placeholder until the shim sources land */
int berth_shim_placeholder(void);
int berth_shim_placeholder(void) { return 0; }
