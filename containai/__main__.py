from containai.cli import program

program.run()
