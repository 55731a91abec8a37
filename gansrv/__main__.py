from gansrv.cli import main

main()
