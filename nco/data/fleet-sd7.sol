Route #1: 6 1
Route #2: 4 5
Route #3: 2 7 3
Cost: 219.574173
