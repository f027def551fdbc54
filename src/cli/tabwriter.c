/* tabwriter.c: placeholder */
