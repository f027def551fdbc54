/* placeholder until the store sources land */
int berth_store_placeholder(void);
int berth_store_placeholder(void) { return 0; }
