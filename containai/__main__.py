from containai.main import main

main()
