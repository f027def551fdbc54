/* client.c: placeholder */
